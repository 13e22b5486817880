// The integration test runner: each other file in test/integration/ adds one suite that
// starts the real aitools-server binary on free ports and talks HTTP to it.
#define BOOST_TEST_MODULE aitools integration tests
#include <boost/test/unit_test.hpp>
