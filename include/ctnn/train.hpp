#pragma once
// Training: the engine (train_step, test_step, fit, eval_model), metrics, the progress bar.
#include "train/engine.hpp"
#include "train/metrics.hpp"
#include "train/progress.hpp"
