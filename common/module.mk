# common/: the library every program links (libcommon.a; libcommon-san.a for unit tests).
COMMON_SRCS := common/log.c common/parse.c common/http_parser.c common/config.c \
	common/fixed_point.c

UNIT_TESTS += test_parse
test_parse_SRCS := tests/unit/test_parse.c

UNIT_TESTS += test_http_parser
test_http_parser_SRCS := tests/unit/test_http_parser.c

UNIT_TESTS += test_config
test_config_SRCS := tests/unit/test_config.c

UNIT_TESTS += test_fixed_point
test_fixed_point_SRCS := tests/unit/test_fixed_point.c

FUZZERS += fuzz_config
fuzz_config_SRCS := tests/fuzz/fuzz_config.c
