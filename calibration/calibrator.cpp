#include "calibration/calibrator.h"

#include <fmt/format.h>

#include "calibration/entropy_calibrator.h"
#include "calibration/minmax_calibrator.h"
#include "calibration/moving_average_calibrator.h"
#include "calibration/mse_calibrator.h"
#include "calibration/percentile_calibrator.h"
#include "lib/errors.h"

namespace mopt {

std::vector<std::string> calibrator_names() { return {"minmax", "moving-average", "percentile", "entropy", "mse"}; }

std::unique_ptr<Calibrator> make_calibrator(const std::string& name, const CalibratorOptions& options) {
  if (name == "minmax") return std::make_unique<MinMaxCalibrator>();
  if (name == "moving-average") return std::make_unique<MovingAverageCalibrator>(options.averaging_constant);
  if (name == "percentile") return std::make_unique<PercentileCalibrator>(options.percentile, options.bins);
  if (name == "entropy") return std::make_unique<EntropyCalibrator>(options.bins, options.quant_levels);
  if (name == "mse") return std::make_unique<MseCalibrator>(options.bins, options.quant_levels);
  throw usage_error(fmt::format("unknown calibrator '{}'; valid calibrators: {}", name,
                                fmt::join(calibrator_names(), ", ")));
}

void throw_nothing_observed(const std::string& calibrator_name) {
  throw runtime_failure(fmt::format(
      "calibrator '{}' has observed no finite values; run at least one calibration batch through the model "
      "(check that --data is not empty)",
      calibrator_name));
}

}  // namespace mopt
