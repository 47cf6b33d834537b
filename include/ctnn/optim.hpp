#pragma once
// Optimizers (torch.optim's update rules) and learning-rate schedulers.
#include "optim/adadelta.hpp"
#include "optim/adam.hpp"
#include "optim/adagrad.hpp"
#include "optim/adamw.hpp"
#include "optim/checkpoint.hpp"
#include "optim/clip_grad.hpp"
#include "optim/one_cycle_lr.hpp"
#include "optim/param_groups.hpp"
#include "optim/reduce_lr_on_plateau.hpp"
#include "optim/rmsprop.hpp"
#include "optim/scheduler.hpp"
#include "optim/sgd.hpp"
