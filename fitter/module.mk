# fitter/: fit_energy, the C + GSL model fitter (docs/fit_energy.md).
FITTER_SRCS := fitter/sha256.c fitter/dataset.c fitter/csv_loader.c fitter/design.c \
	fitter/split.c fitter/lsq.c fitter/nnls.c fitter/solve.c fitter/metrics.c \
	fitter/model_config.c fitter/report.c
FITTER_LIBS := -lcsv -lgsl -lgslcblas -ljansson

PROGRAMS += fit_energy
fit_energy_SRCS := fitter/fit_energy.c $(FITTER_SRCS)
fit_energy_LIBS := $(FITTER_LIBS)
