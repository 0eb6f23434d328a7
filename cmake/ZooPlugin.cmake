# zoo_add_mixer(<name> <source>...): build a mixer plugin <name>.so against libzoo.
# Used in this tree and, installed, by plugin authors through find_package(zoo).
function(zoo_add_mixer name)
  add_library(${name} MODULE ${ARGN})
  set_target_properties(${name} PROPERTIES PREFIX "" OUTPUT_NAME ${name}
    C_VISIBILITY_PRESET hidden C_STANDARD 11)
  if(TARGET zoo::zoo)
    target_link_libraries(${name} PRIVATE zoo::zoo)
  else()
    target_link_libraries(${name} PRIVATE zoo)
  endif()
endfunction()

# zoo_add_task(<name> <source>...): build a task plugin <name>.so (zoo/task.h) the same way.
function(zoo_add_task name)
  zoo_add_mixer(${name} ${ARGN})
endfunction()
