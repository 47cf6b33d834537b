#pragma once
// Optimizers (torch.optim's update rules) and learning-rate schedulers.
#include "optim/adam.hpp"
#include "optim/scheduler.hpp"
#include "optim/sgd.hpp"
