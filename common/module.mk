# common/: the library every program links (libcommon.a; libcommon-san.a for unit tests).
COMMON_SRCS := common/log.c common/parse.c common/http_parser.c common/buf.c \
	common/cgroup2.c common/csv_schema.c common/config.c common/options.c \
	common/model_features.c

UNIT_TESTS += test_parse
test_parse_SRCS := tests/unit/test_parse.c

UNIT_TESTS += test_http_parser
test_http_parser_SRCS := tests/unit/test_http_parser.c

FUZZERS += fuzz_http_parser
fuzz_http_parser_SRCS := tests/fuzz/fuzz_http_parser.c

UNIT_TESTS += test_cgroup2 test_csv_schema
test_cgroup2_SRCS := tests/unit/test_cgroup2.c
test_csv_schema_SRCS := tests/unit/test_csv_schema.c

UNIT_TESTS += test_config
test_config_SRCS := tests/unit/test_config.c

FUZZERS += fuzz_config
fuzz_config_SRCS := tests/fuzz/fuzz_config.c

# Every program's command line (common/options.h): unit and end to end.
UNIT_TESTS += test_options
test_options_SRCS := tests/unit/test_options.c
INTEGRATION_TESTS += tests/integration/test_options.sh
