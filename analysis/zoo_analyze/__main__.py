"""python3 -m zoo_analyze results.h5 -o report/ (see cli.py)."""
import sys

from .cli import main

sys.exit(main())
