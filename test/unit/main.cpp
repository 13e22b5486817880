// The unit test runner; every other file in test/unit/ adds one BOOST_AUTO_TEST_SUITE.
#define BOOST_TEST_MODULE aitools unit tests
#include <boost/test/unit_test.hpp>
