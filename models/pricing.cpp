// Price formulas over 128-bit intermediates, checked against the cost limit before narrowing.
#include "models/pricing.hpp"

#include "config/limits.hpp"

namespace kiln {
namespace {

using wide = unsigned __int128;

std::uint64_t ceil_div(wide a, wide b) { return static_cast<std::uint64_t>((a + b - 1) / b); }

}  // namespace

std::uint64_t units_per_output(const model_entry& model, const price_request& job) {
  switch (model.unit) {
    case price_unit::asset:
    case price_unit::clip:
      return 1;
    case price_unit::second:
      return job.duration_seconds;
    case price_unit::k_characters:
      return ceil_div(std::max<std::uint64_t>(job.text_chars, 1), 1000);
    case price_unit::frame:
      return std::uint64_t{job.duration_seconds} * model.fps;
    case price_unit::megapixel_second:
      return ceil_div(wide{job.width} * job.height * job.duration_seconds, 1'000'000);
  }
  return 1;
}

caf::expected<std::int64_t> price_of(const model_entry& model, const price_request& job) {
  const wide limit = static_cast<wide>(limits::job_cost_max);
  auto too_much = [&] {
    return make_error(
      error_code::invalid_request,
      "this job would cost more than " + std::to_string(limits::job_cost_max) + " credits", "n");
  };
  // Each factor is below 2^64, so two products fit in 128 bits; check before the third.
  wide base = wide{static_cast<std::uint64_t>(model.credits)} * units_per_output(model, job);
  if (base > limit) return too_much();
  base *= job.n;
  if (base > limit) return too_much();
  wide percent = 0, fixed = 0;
  for (const auto& [name, value] : job.options) {
    const model_option* option = model.find_option(name);
    if (!option) continue;
    for (const auto& s : option->surcharges)
      if (s.value == value) {
        percent += static_cast<std::uint64_t>(s.percent);
        fixed += static_cast<std::uint64_t>(s.credits);
      }
  }
  wide total = base + (base * percent + 99) / 100 + fixed;
  if (total < static_cast<wide>(model.minimum_credits))
    total = static_cast<wide>(model.minimum_credits);
  if (total > limit) return too_much();
  return static_cast<std::int64_t>(total);
}

}  // namespace kiln
