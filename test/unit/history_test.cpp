// The registry's history on its own: entries, shared contents, and both bounds.
#include "actors/history.hpp"

#include <boost/test/unit_test.hpp>

namespace {

using aitools::History;
using aitools::ManifestFile;
using aitools::ReloadReport;

ReloadReport report(uint64_t generation) {
  ReloadReport r;
  r.generation = generation;
  r.changed = true;
  return r;
}

std::vector<uint64_t> generations(const History& history) {
  std::vector<uint64_t> out;
  const auto view = history.view();  // held: a range-for would not keep the temporary alive
  for (const auto& entry : view->entries) out.push_back(entry->generation);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(history)

BOOST_AUTO_TEST_CASE(unchanged_contents_are_shared_and_entries_are_newest_first) {
  History history(20);
  const std::vector<ManifestFile> one = {{"a.json", std::string("A1"), {}}, {"b.json", std::string("B"), {}}};
  const std::vector<ManifestFile> two = {{"a.json", std::string("A2"), {}}, {"b.json", std::string("B"), {}}};
  history.record(report(1), nullptr, one);
  history.record(report(2), nullptr, two);
  const auto view = history.view();
  BOOST_TEST(generations(history) == std::vector<uint64_t>({2, 1}), boost::test_tools::per_element());
  BOOST_TEST(view->entries[0]->files[1].content == view->entries[1]->files[1].content);  // b shared
  BOOST_TEST(view->entries[0]->files[0].content != view->entries[1]->files[0].content);
  BOOST_TEST(view->entries[0]->own_bytes == 2u);  // "A2" only
  BOOST_TEST(view->entries[1]->same_files(one));
  BOOST_TEST(!view->entries[1]->same_files(two));
  BOOST_TEST(history.find(1) == view->entries[1]);
  BOOST_TEST(history.before(2) == view->entries[1]);
  BOOST_TEST(!history.before(1));
}

BOOST_AUTO_TEST_CASE(capacity_and_content_bytes_bound_the_entries_kept) {
  History history(5, 250);  // 250 bytes of contents at most
  for (uint64_t g = 1; g <= 4; ++g)
    history.record(report(g), nullptr, {{"big.json", std::string(100, char('a' + g)), {}}});
  // 4 x 100 bytes > 250: the oldest go, down to 200 bytes.
  BOOST_TEST(generations(history) == std::vector<uint64_t>({4, 3}), boost::test_tools::per_element());
  // The newest two stay whatever their size.
  history.record(report(5), nullptr, {{"big.json", std::string(1000, 'x'), {}}});
  BOOST_TEST(generations(history) == std::vector<uint64_t>({5, 4}), boost::test_tools::per_element());
  // Unchanged contents cost nothing more: the count bound applies.
  History small(3, 250);
  for (uint64_t g = 1; g <= 5; ++g)
    small.record(report(g), nullptr, {{"same.json", std::string(100, 's'), {}}});
  BOOST_TEST(generations(small) == std::vector<uint64_t>({5, 4, 3}), boost::test_tools::per_element());
  small.set_capacity(1);
  BOOST_TEST(generations(small) == std::vector<uint64_t>({5}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()
