#include <catch2/catch.hpp>

#include "server/connection/ending.hpp"

using corochat::server::Ending;

TEST_CASE("ending: only the last of reader and writer reports closed", "[ending]") {
  Ending ending;
  CHECK_FALSE(ending.part_done());
  CHECK(ending.part_done());
}

TEST_CASE("ending: the stream is closed once", "[ending]") {
  Ending ending;
  CHECK_FALSE(ending.going_away());
  CHECK(ending.close_stream());
  CHECK_FALSE(ending.close_stream());
  CHECK(ending.stream_closed());
  CHECK(ending.going_away());
}

TEST_CASE("ending: the end of input is reported only when it is news", "[ending]") {
  Ending open;
  CHECK(open.reports_input_ended(false));
  CHECK_FALSE(open.reports_input_ended(true));  // after quit

  Ending closing;
  CHECK(closing.begin_closing());
  CHECK_FALSE(closing.begin_closing());  // once
  CHECK_FALSE(closing.reports_input_ended(false));

  Ending aborted;
  aborted.abort();
  CHECK(aborted.going_away());
  CHECK_FALSE(aborted.begin_closing());  // an aborted connection is not closed gracefully
  CHECK_FALSE(aborted.reports_input_ended(false));
}

TEST_CASE("ending: a closed stream whose peer had not ended still reports the end of input", "[ending]") {
  // A write error closes the stream: the read then fails, and the broadcaster
  // must hear of it since nobody asked for the close.
  Ending ending;
  ending.close_stream();
  ending.end_input();
  CHECK(ending.input_done());
  CHECK(ending.reports_input_ended(false));
}
