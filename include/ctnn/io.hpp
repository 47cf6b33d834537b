#pragma once
// Checkpoints: save/load a model's state_dict in the safetensors format (readable by PyTorch).
#include "io/safetensors.hpp"
