#pragma once
// Aligned plain-text tables for aitools-ctl's human output.
#include <ostream>
#include <string>
#include <vector>

namespace aitools::ctl {

// Columns separated by two spaces, each as wide as its widest cell; the last column is not
// padded, so no line ends in blanks. A table made without a header prints only its rows
// (KEY VALUE blocks). Line breaks and tabs inside a cell become spaces: one row, one line.
class Table {
 public:
  Table() = default;
  explicit Table(std::vector<std::string> header);

  void add(std::vector<std::string> row);
  bool empty() const { return rows_.empty(); }
  void print(std::ostream& out) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace aitools::ctl
