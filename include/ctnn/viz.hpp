#pragma once
// Pictures as PNG files (needs Debian's libstb: -lstb, or link ctnn::ctnn from CMake).
#include "viz/canvas.hpp"
#include "viz/plots.hpp"
#include "viz/png.hpp"
