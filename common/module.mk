# common/: the library every program links (libcommon.a; libcommon-san.a for unit tests).
COMMON_SRCS := common/log.c common/parse.c common/http_parser.c common/buf.c

UNIT_TESTS += test_parse
test_parse_SRCS := tests/unit/test_parse.c

UNIT_TESTS += test_http_parser
test_http_parser_SRCS := tests/unit/test_http_parser.c

FUZZERS += fuzz_http_parser
fuzz_http_parser_SRCS := tests/fuzz/fuzz_http_parser.c
