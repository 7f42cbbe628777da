// The two faces of the client: an interactive terminal (libedit line editor,
// incoming lines printed above the prompt) and plain pipes.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include "session.hpp"

namespace corochat::chat_client {

// stdout (and stderr for problems), a line at a time, flushed: for pipes and --json.
class PlainOutput : public Output {
 public:
  void print(std::string_view text) override;
  void print_problem(std::string_view text) override;
};

// The line editor on a terminal. Only one exists at a time (libedit's
// readline interface is global).
class Terminal : public Output {
 public:
  // `history_path`: where typed lines are kept across runs ("" for nowhere).
  explicit Terminal(std::string history_path = {});
  ~Terminal() override;
  Terminal(const Terminal&) = delete;
  Terminal& operator=(const Terminal&) = delete;

  void attach(Session& session) { session_ = &session; }
  void print(std::string_view text) override;
  void set_status(std::string_view room, std::string_view activity) override;
  void bell() override;

  // Feeds keystrokes from stdin to the editor until the session ends.
  boost::asio::awaitable<void> read_keys();
  // Leaves the terminal as it was found.
  void restore();

 private:
  static void on_line(char* line);
  static char** on_complete(const char* text, int start, int end);
  static char* next_match(const char* text, int state);
  static int next_key(FILE* ignored);
  void feed_editor(std::string_view bytes);
  void on_paste_read(std::string_view bytes);
  // The escapes that take the cursor to the start of the prompt and clear
  // from there: the typed line may wrap over several rows.
  std::string erase_input() const;

  Session* session_ = nullptr;
  std::string history_path_;
  std::string prompt_;
  bool installed_ = false;
  bool line_done_ = false;  // the editor handed over a line during the last key
  // Inside that hand-over the editor still holds the finished line, and the
  // cursor is on a fresh row below it: nothing is to be erased or redrawn
  // until the editor starts a new line.
  bool handing_over_ = false;
  std::vector<std::string> paste_;  // a paste waiting for its y/N
};

// Reads lines from a non-terminal stdin (pipe, file, /dev/null) into the
// session, holding back while too many wait to be sent.
boost::asio::awaitable<void> read_pipe(Session& session);

}  // namespace corochat::chat_client
