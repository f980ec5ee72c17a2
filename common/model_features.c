// SPDX-License-Identifier: MIT
#include "model_features.h"

#include <string.h>

#define NAME_(ID, name, weight, avail, fit, field) [MF_##ID] = #name,
static const char *const names[MF_COUNT] = { MODEL_FEATURES(NAME_) };
#undef NAME_

#define KEY_(ID, name, weight, avail, fit, field) [MF_##ID] = #weight,
static const char *const keys[MF_COUNT] = { MODEL_FEATURES(KEY_) };
#undef KEY_

#define FIT_(ID, name, weight, avail, fit, field) [MF_##ID] = fit,
static const bool fit_default[MF_COUNT] = { MODEL_FEATURES(FIT_) };
#undef FIT_

const char *model_feature_name(enum model_feature f)
{
	return (unsigned)f < MF_COUNT ? names[f] : NULL;
}

const char *model_feature_key(enum model_feature f)
{
	return (unsigned)f < MF_COUNT ? keys[f] : NULL;
}

bool model_feature_fit_default(enum model_feature f)
{
	return (unsigned)f < MF_COUNT && fit_default[f];
}

int model_feature_find(const char *name)
{
	for (int f = 0; f < MF_COUNT; f++)
		if (!strcmp(names[f], name))
			return f;
	return -1;
}
