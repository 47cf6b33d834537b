# consumer.core_only: ctnn configured with CTNN_DATA=OFF on a machine without zlib, libpng, libjpeg and
# threads (made unfindable), installed, then used through find_package(ctnn) by the core-only consumer.
# cmake -DCTNN_SOURCE_DIR=... -DWORK_DIR=... -DGENERATOR=... -DCXX_COMPILER=... -P core_only.cmake
set(unfindable -DCMAKE_DISABLE_FIND_PACKAGE_ZLIB=ON -DCMAKE_DISABLE_FIND_PACKAGE_PNG=ON
    -DCMAKE_DISABLE_FIND_PACKAGE_JPEG=ON -DCMAKE_DISABLE_FIND_PACKAGE_Threads=ON
    -DCMAKE_DISABLE_FIND_PACKAGE_OpenMP=ON)
file(REMOVE_RECURSE ${WORK_DIR})
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}")
  endif()
endfunction()
run(${CMAKE_COMMAND} -S ${CTNN_SOURCE_DIR} -B ${WORK_DIR}/ctnn -G "${GENERATOR}" -DCTNN_DATA=OFF
    -DCMAKE_CXX_COMPILER=${CXX_COMPILER} ${unfindable})
run(${CMAKE_COMMAND} --install ${WORK_DIR}/ctnn --prefix ${WORK_DIR}/install)
if(EXISTS ${WORK_DIR}/install/share/cmake/ctnn/ctnnTargets.cmake)
  message(FATAL_ERROR "a CTNN_DATA=OFF install has ctnn::ctnn's targets file")
endif()
run(${CMAKE_COMMAND} -S ${CMAKE_CURRENT_LIST_DIR}/find_package_core -B ${WORK_DIR}/consumer -G "${GENERATOR}"
    -DCMAKE_PREFIX_PATH=${WORK_DIR}/install -DCMAKE_CXX_COMPILER=${CXX_COMPILER} -DCTNN_CONSUMER_COMPONENTS=OFF
    ${unfindable})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/consumer)
run(${WORK_DIR}/consumer/consumer)
