# fitter/: fit_energy, the C + GSL model fitter (docs/fit_energy.md).
FITTER_SRCS := fitter/dataset.c fitter/csv_loader.c fitter/design.c \
	fitter/split.c fitter/cv.c fitter/lsq.c fitter/nnls.c fitter/solve.c fitter/metrics.c \
	fitter/model_config.c fitter/report.c
FITTER_LIBS := -lcsv -lnettle -lgsl -lgslcblas -ljansson

PROGRAMS += fit_energy
fit_energy_SRCS := fitter/fit_energy.c $(FITTER_SRCS)
fit_energy_LIBS := $(FITTER_LIBS)

UNIT_TESTS += test_fit
test_fit_SRCS := tests/unit/test_fit.c $(FITTER_SRCS)
test_fit_LIBS := $(FITTER_LIBS)
test_fit_CFLAGS := -I fitter

UNIT_TESTS += test_csv_loader
test_csv_loader_SRCS := tests/unit/test_csv_loader.c fitter/csv_loader.c fitter/dataset.c \
	fitter/split.c
test_csv_loader_LIBS := -lcsv -lnettle
test_csv_loader_CFLAGS := -I fitter

UNIT_TESTS += test_nnls test_metrics
test_nnls_SRCS := tests/unit/test_nnls.c fitter/nnls.c
test_nnls_LIBS := -lgsl -lgslcblas
test_nnls_CFLAGS := -I fitter
test_metrics_SRCS := tests/unit/test_metrics.c fitter/metrics.c
test_metrics_CFLAGS := -I fitter

UNIT_TESTS += test_cv
test_cv_SRCS := tests/unit/test_cv.c fitter/cv.c fitter/dataset.c
test_cv_CFLAGS := -I fitter

UNIT_TESTS += test_split test_design
test_split_SRCS := tests/unit/test_split.c fitter/split.c
test_split_CFLAGS := -I fitter
test_design_SRCS := tests/unit/test_design.c fitter/design.c fitter/split.c \
	fitter/csv_loader.c fitter/dataset.c
test_design_LIBS := -lcsv -lnettle
test_design_CFLAGS := -I fitter

UNIT_TESTS += test_lsq
test_lsq_SRCS := tests/unit/test_lsq.c fitter/lsq.c
test_lsq_LIBS := -lgsl -lgslcblas
test_lsq_CFLAGS := -I fitter

UNIT_TESTS += test_model_config
test_model_config_SRCS := tests/unit/test_model_config.c fitter/model_config.c
test_model_config_CFLAGS := -I fitter

FUZZERS += fuzz_csv_loader
fuzz_csv_loader_SRCS := tests/fuzz/fuzz_csv_loader.c fitter/csv_loader.c fitter/dataset.c \
	fitter/design.c fitter/split.c
fuzz_csv_loader_LIBS := -lcsv -lnettle

INTEGRATION_TESTS += tests/integration/test_fit_energy.sh
BENCH_SCRIPTS += bench/fit_vs_numpy.sh
