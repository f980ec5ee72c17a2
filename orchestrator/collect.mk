# orchestrator/: collect_signals (one experiment run; see docs/collect_signals.md).
PROGRAMS += collect_signals
collect_signals_SRCS := orchestrator/collect_signals.c orchestrator/child_proc.c
collect_signals_LIBS := -ljansson
INTEGRATION_TESTS += tests/integration/test_collect.sh
INTEGRATION_TESTS += tests/integration/test_collect_experiment.sh
