/*
 * sim_physics.c: peerwatt-sim's simulated household (sim.h): a clear-sky PV
 * day with seeded clouds, a household load profile, the meter's view (load
 * minus PV, less the battery's power) and the accumulators that integrate
 * the powers, advanced on the simulated clock.
 */
#include <math.h>

#include "tests/sim/sim.h"
#include "tests/sim/sim_battery.h"
#include "tests/sim/sim_controls.h"

uint32_t
hash32(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352dU;
	x ^= x >> 15;
	x *= 0x846ca68bU;
	x ^= x >> 16;
	return x;
}

static double
unit_rand(uint32_t seed, uint32_t k)
{
	return (double)hash32(seed * 2654435761U ^ hash32(k)) / 4294967296.0;
}

/* Cloud attenuation at simulated time t (s since start of day 0): 10-min slots, interpolated. */
static double
cloud_factor(const struct sim *s, double t)
{
	double slot = t / 600.0;
	uint32_t k = (uint32_t)slot;
	double f = slot - (double)k;
	double a = unit_rand(s->seed, k) < 0.3 ? 0.35 + 0.5 * unit_rand(s->seed + 7, k) : 1.0;
	double b =
	    unit_rand(s->seed, k + 1) < 0.3 ? 0.35 + 0.5 * unit_rand(s->seed + 7, k + 1) : 1.0;
	return a + (b - a) * f;
}

static double
pv_power(const struct sim *s, double t)
{
	double tod = fmod(t, 86400.0), x;
	if (tod < 6 * 3600.0 || tod >= 20 * 3600.0)
		return 0.0;
	x = sin(M_PI * (tod - 6 * 3600.0) / (14 * 3600.0));
	return floor(s->pv_peak_w * pow(x, 1.5) * cloud_factor(s, t));
}

static double
load_power(const struct sim *s, double t)
{
	double h = fmod(t, 86400.0) / 3600.0;
	double shape = 0.6;
	shape += 0.8 * exp(-pow((h - 7.5) / 1.0, 2));
	shape += 1.4 * exp(-pow((h - 19.5) / 1.5, 2));
	shape += 0.3 * exp(-pow((h - 12.5) / 1.0, 2));
	/* a little noise per simulated minute */
	shape *= 0.9 + 0.2 * unit_rand(s->seed + 99, (uint32_t)(t / 60.0));
	return floor(s->load_w * shape / 0.95);
}

void
advance(struct sim *s, double now_real)
{
	double target = (now_real - s->t0_real) * s->speed;

	while (s->last_sim < target) {
		double step = target - s->last_sim;
		if (step > 60.0)
			step = 60.0;
		step = simctl_step(&s->ctl, step); /* a limit ends exactly on time */
		double t = s->start_s + s->last_sim;
		double pv = simctl_clip(&s->ctl, pv_power(s, t)), load = load_power(s, t),
		       grid = load - pv;
		if (s->battery)
			grid -= simbat_step(&s->bat, grid, step);
		s->inv_wh += pv * step / 3600.0;
		if (grid > 0)
			s->imp_wh += grid * step / 3600.0;
		else
			s->exp_wh += -grid * step / 3600.0;
		s->last_sim += step;
		simctl_tick(&s->ctl, step);
	}
	double t = s->start_s + s->last_sim;
	s->pv_w = simctl_clip(&s->ctl, pv_power(s, t));
	s->load_w_now = load_power(s, t);
	s->grid_w = s->load_w_now - s->pv_w;
	if (s->battery) {
		s->bat_w = simbat_power(&s->bat, s->grid_w, 0);
		s->grid_w -= s->bat_w;
	}
}
