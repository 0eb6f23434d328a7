"""ref_embedding.py: PyTorch float64 reference for zoo_embedding: E[tokens], with ids
outside [0, V) giving zero rows and no gradient."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import zt  # noqa: E402


def forward(case, torch):
    E, tok = case.param("weight"), case.tensor("tokens")
    valid = (tok >= 0) & (tok < E.shape[0])
    rows = torch.nn.functional.embedding(torch.where(valid, tok, torch.zeros_like(tok)), E)
    return rows * valid.unsqueeze(-1).to(E.dtype)


zt.main(forward)
