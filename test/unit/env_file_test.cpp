#include <boost/test/unit_test.hpp>

#include "config/env_file.hpp"

using aitools::config::EnvEntry;
using aitools::config::EnvParseError;
using aitools::config::parse_env;

namespace {

std::vector<EnvEntry> entries(std::string_view text) {
  auto result = parse_env(text);
  const auto* error = std::get_if<EnvParseError>(&result);
  BOOST_REQUIRE_MESSAGE(!error, "unexpected error at line " << (error ? error->line : 0) << ": "
                                                            << (error ? error->message : ""));
  return std::get<std::vector<EnvEntry>>(result);
}

// The value of the only entry of `text`.
std::string value_of(std::string_view text) {
  const auto parsed = entries(text);
  BOOST_REQUIRE_EQUAL(parsed.size(), 1u);
  return parsed[0].value;
}

EnvParseError error_of(std::string_view text) {
  auto result = parse_env(text);
  BOOST_REQUIRE_MESSAGE(std::holds_alternative<EnvParseError>(result), "expected a parse error");
  return std::get<EnvParseError>(result);
}

void check_error(std::string_view text, int line, const std::string& message) {
  const EnvParseError error = error_of(text);
  BOOST_TEST(error.line == line);
  BOOST_TEST(error.message == message);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(env_file)

BOOST_AUTO_TEST_CASE(empty_text_has_no_entries) {
  BOOST_TEST(entries("").empty());
  BOOST_TEST(entries("\n\n  \t\n").empty());
}

BOOST_AUTO_TEST_CASE(key_value_lines_in_file_order_with_line_numbers) {
  const auto parsed = entries("A=1\nB=two\n\n# comment\nC=3");
  BOOST_REQUIRE_EQUAL(parsed.size(), 3u);
  BOOST_TEST(parsed[0].key == "A");
  BOOST_TEST(parsed[0].value == "1");
  BOOST_TEST(parsed[0].line == 1);
  BOOST_TEST(parsed[1].key == "B");
  BOOST_TEST(parsed[1].value == "two");
  BOOST_TEST(parsed[1].line == 2);
  BOOST_TEST(parsed[2].key == "C");
  BOOST_TEST(parsed[2].line == 5);
}

BOOST_AUTO_TEST_CASE(comment_lines_may_be_indented) {
  const auto parsed = entries("  # indented comment\n\t#tab\nA=1\n#A=2\n");
  BOOST_REQUIRE_EQUAL(parsed.size(), 1u);
  BOOST_TEST(parsed[0].value == "1");
  BOOST_TEST(parsed[0].line == 3);
}

BOOST_AUTO_TEST_CASE(spaces_around_key_equals_and_value_are_trimmed) {
  const auto parsed = entries("  KEY  =  some value \t\n");
  BOOST_REQUIRE_EQUAL(parsed.size(), 1u);
  BOOST_TEST(parsed[0].key == "KEY");
  BOOST_TEST(parsed[0].value == "some value");
}

BOOST_AUTO_TEST_CASE(empty_values_are_legal) {
  BOOST_TEST(value_of("KEY=") == "");
  BOOST_TEST(value_of("KEY=   ") == "");
  BOOST_TEST(value_of("KEY=\"\"") == "");
  BOOST_TEST(value_of("KEY=''") == "");
  BOOST_TEST(value_of("KEY= # only a comment") == "");
}

BOOST_AUTO_TEST_CASE(value_may_contain_equals_signs) {
  BOOST_TEST(value_of("URL=http://h/?a=1&b=2") == "http://h/?a=1&b=2");
}

BOOST_AUTO_TEST_CASE(unquoted_hash_after_whitespace_starts_a_comment) {
  BOOST_TEST(value_of("KEY=value # comment") == "value");
  BOOST_TEST(value_of("KEY=value\t# comment") == "value");
  BOOST_TEST(value_of("KEY=a b #c # d") == "a b");
}

BOOST_AUTO_TEST_CASE(unquoted_hash_without_whitespace_is_part_of_the_value) {
  BOOST_TEST(value_of("COLOR=#ff0000") == "#ff0000");
  BOOST_TEST(value_of("KEY=a#b") == "a#b");
  BOOST_TEST(value_of("KEY=a#b #c") == "a#b");
}

BOOST_AUTO_TEST_CASE(single_quotes_are_literal) {
  BOOST_TEST(value_of(R"(KEY='  a \n "b" # not a comment  ')") ==
             R"(  a \n "b" # not a comment  )");
}

BOOST_AUTO_TEST_CASE(double_quotes_honour_escapes) {
  BOOST_TEST(value_of(R"(KEY="a\nb\tc\rd\\e\"f")") == "a\nb\tc\rd\\e\"f");
  BOOST_TEST(value_of(R"(KEY="  padded # kept  ")") == "  padded # kept  ");
  BOOST_TEST(value_of(R"(KEY="it's")") == "it's");
}

BOOST_AUTO_TEST_CASE(unknown_escape_in_double_quotes_is_kept_as_written) {
  BOOST_TEST(value_of(R"(DIR="C:\dir\x")") == R"(C:\dir\x)");
}

BOOST_AUTO_TEST_CASE(comment_or_whitespace_may_follow_closing_quote) {
  BOOST_TEST(value_of("KEY=\"v\"   ") == "v");
  BOOST_TEST(value_of("KEY=\"v\" # comment") == "v");
  BOOST_TEST(value_of("KEY='v'# comment") == "v");
}

BOOST_AUTO_TEST_CASE(text_after_closing_quote_is_an_error) {
  const EnvParseError error = error_of("A=1\nKEY=\"v\" junk\n");
  BOOST_TEST(error.line == 2);
  BOOST_TEST(error.message.find("after the closing quote") != std::string::npos);
  BOOST_TEST(error.message.find("expected") != std::string::npos);
  BOOST_TEST(error_of("KEY='a'b").line == 1);
}

BOOST_AUTO_TEST_CASE(unterminated_quotes_are_errors) {
  check_error("A=1\n\nKEY=\"abc\n", 3, "unterminated double quote");
  check_error("KEY='abc", 1, "unterminated single quote");
  check_error(R"(KEY="abc\")", 1, "unterminated double quote");  // the quote is escaped
}

BOOST_AUTO_TEST_CASE(export_prefix_is_ignored) {
  const auto parsed = entries("export A=1\nexport\tB = 2\n  export   C='3'\n");
  BOOST_REQUIRE_EQUAL(parsed.size(), 3u);
  BOOST_TEST(parsed[0].key == "A");
  BOOST_TEST(parsed[1].key == "B");
  BOOST_TEST(parsed[1].value == "2");
  BOOST_TEST(parsed[2].key == "C");
  BOOST_TEST(parsed[2].value == "3");
}

BOOST_AUTO_TEST_CASE(export_is_an_ordinary_key_without_the_separating_blank) {
  const auto parsed = entries("export=1\nexported=2\n");
  BOOST_REQUIRE_EQUAL(parsed.size(), 2u);
  BOOST_TEST(parsed[0].key == "export");
  BOOST_TEST(parsed[1].key == "exported");
  check_error("export A\n", 1, "expected KEY=VALUE");
}

BOOST_AUTO_TEST_CASE(crlf_line_endings_are_tolerated) {
  const auto parsed = entries("A=1\r\n# c\r\nB=\"two\"\r\n\r\nC=x # c\r\n");
  BOOST_REQUIRE_EQUAL(parsed.size(), 3u);
  BOOST_TEST(parsed[0].value == "1");
  BOOST_TEST(parsed[1].value == "two");
  BOOST_TEST(parsed[1].line == 3);
  BOOST_TEST(parsed[2].value == "x");
  BOOST_TEST(parsed[2].line == 5);
}

BOOST_AUTO_TEST_CASE(utf8_bom_at_start_is_tolerated) {
  const auto parsed = entries("\xEF\xBB\xBFKEY=1\nB=2");
  BOOST_REQUIRE_EQUAL(parsed.size(), 2u);
  BOOST_TEST(parsed[0].key == "KEY");
  BOOST_TEST(parsed[0].line == 1);
}

BOOST_AUTO_TEST_CASE(utf8_bom_elsewhere_is_not_skipped) {
  const EnvParseError error = error_of("A=1\n\xEF\xBB\xBFKEY=1");
  BOOST_TEST(error.line == 2);
  BOOST_TEST(error.message.find("invalid key") == 0u);
}

BOOST_AUTO_TEST_CASE(utf8_values_are_kept_byte_for_byte) {
  BOOST_TEST(value_of("GREETING=h\xC3\xA9llo") == "h\xC3\xA9llo");
}

BOOST_AUTO_TEST_CASE(duplicate_keys_are_all_reported_in_order) {
  const auto parsed = entries("A=1\nA=2\n");
  BOOST_REQUIRE_EQUAL(parsed.size(), 2u);
  BOOST_TEST(parsed[0].value == "1");
  BOOST_TEST(parsed[1].value == "2");
  BOOST_TEST(parsed[1].line == 2);
}

BOOST_AUTO_TEST_CASE(keys_may_hold_underscores_digits_and_dots) {
  const auto parsed = entries("_a=1\nsvc.echo.PORT_2=2\n");
  BOOST_REQUIRE_EQUAL(parsed.size(), 2u);
  BOOST_TEST(parsed[0].key == "_a");
  BOOST_TEST(parsed[1].key == "svc.echo.PORT_2");
}

BOOST_AUTO_TEST_CASE(invalid_keys_are_errors) {
  check_error("# c\n1ABC=1\n", 2, R"(invalid key "1ABC": expected [A-Za-z_][A-Za-z0-9_.]*)");
  check_error("MY KEY=1", 1, R"(invalid key "MY KEY": expected [A-Za-z_][A-Za-z0-9_.]*)");
  check_error("A-B=1", 1, R"(invalid key "A-B": expected [A-Za-z_][A-Za-z0-9_.]*)");
  check_error("\"A\"=1", 1, R"(invalid key ""A"": expected [A-Za-z_][A-Za-z0-9_.]*)");
}

BOOST_AUTO_TEST_CASE(lines_without_key_and_equals_are_errors) {
  check_error("A=1\n\n# c\njust words\nB=2", 4, "expected KEY=VALUE");
  check_error("=value", 1, "expected KEY=VALUE");
  check_error("  = value", 1, "expected KEY=VALUE");
}

BOOST_AUTO_TEST_CASE(first_error_stops_parsing) {
  check_error("A=1\nbad line\nB=\"unterminated", 2, "expected KEY=VALUE");
}

BOOST_AUTO_TEST_SUITE_END()
