// One chat session: the connection to chatd (with reconnect), the queue of
// requests paced below the flood limit, and the state the display needs
// (nick, rooms, members, last seq per room). Input and output are plugged in.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>

#include "activity.hpp"
#include "corochat/client.hpp"
#include "display.hpp"
#include "history_paging.hpp"
#include "command.hpp"
#include "pacer.hpp"

namespace corochat::chat_client {

struct Options {
  std::string host = "127.0.0.1";
  std::string port = "7000";
  std::string nick;
  std::string room;      // joined after welcome and made current
  std::string password;  // empty: none
  client::TlsOptions tls;    // --tls, --ca, --insecure
  bool json = false;         // print raw protocol lines
  bool interactive = false;  // a terminal: commands parsed as typed, member lists kept
  bool colour = false;
  std::vector<std::string> highlights;  // --highlight: words that count as mentions
  bool bell = true;                     // ring the terminal bell on a mention
  bool input_history = true;            // keep typed lines across runs
};

// Where the session's text goes.
class Output {
 public:
  virtual ~Output() = default;
  virtual void print(std::string_view text) = 0;  // one or more lines, no final '\n'
  virtual void print_problem(std::string_view text) { print(text); }
  // The current room and the activity elsewhere ("dev:3 ops:1!"), for the prompt.
  virtual void set_status(std::string_view /*room*/, std::string_view /*activity*/) {}
  // A mention arrived: the terminal bell.
  virtual void bell() {}
};

class Session {
 public:
  Session(boost::asio::io_context& io, Options options, Output& output);

  // Connects, registers and runs until the user quits (or a fatal error);
  // returns the exit status.
  boost::asio::awaitable<int> run();

  // Input, from the terminal or a pipe.
  void input_line(std::string line);
  void input_end();
  // A paste on the terminal. Asked about first (false: there is no room to
  // send it to, and the user was told); once confirmed, every line goes as
  // text to the current room, a line starting with "/" included, paced like
  // any other request.
  bool offer_paste(std::size_t lines);
  void send_paste(const std::vector<std::string>& lines);
  void drop_paste(std::size_t lines);
  // SIGINT/SIGTERM: quit now (a second one does not wait for the server).
  void interrupt();

  // Lines waiting to be sent: a pipe reader stops reading above a bound.
  std::size_t backlog() const { return queue_.size(); }
  // Woken whenever the backlog shrinks.
  boost::asio::steady_timer& backlog_shrunk() { return backlog_timer_; }
  bool finished() const { return finished_; }

  // Nicks of the rooms the user is in, for completion.
  std::vector<std::string> known_nicks() const;

 private:
  struct Pending {
    std::string raw;  // an input line parsed when its turn comes (pipes)
    std::optional<boost::json::object> request;
    bool tracked = true;        // waits for the reply with its id before the next request goes
    bool silent = false;        // the client's own bookkeeping: the reply is not shown
    bool make_current = false;  // a join whose room becomes the current room
    bool resent = false;        // sent before a lost connection; may have arrived
    bool from_input = true;     // an error answering it makes a piped run fail
    bool pages_history = false;  // a /history: a repeat pages further back
    std::string catch_up_room;   // a page of the catch-up on this room after a reconnect
  };

  // What an event does to the request in flight: answers it (taken off), or
  // reports that the flood limit dropped it and it was queued again, first.
  struct Answer {
    std::optional<Pending> request;
    bool retried = false;
  };

  static Pending bookkeeping(boost::json::object request);
  static boost::json::object who_request(const std::string& room);
  Answer take_answer(const client::Event& event);
  boost::asio::awaitable<void> read_loop();
  boost::asio::awaitable<void> send_loop();
  void wake_sender();
  void enqueue(Pending item, bool front = false);
  void on_welcome(const boost::json::object& welcome, bool reconnect);
  void handle(const client::Event& event);
  void update_state(const boost::json::object& event, const Pending* answered);
  void show_catch_up(const boost::json::object& history, const std::string& room);
  void show_history_page(const boost::json::object& history, const boost::json::object& request);
  void show(const boost::json::object& event, const boost::json::object* request = nullptr);
  void local_problem(std::string_view text);
  void set_current(std::string room);
  bool convert_raw(Pending& item);  // false: nothing to send for it
  void do_local(const Command& command);
  void note_activity(const boost::json::object& event, const DisplayContext& context);
  void update_prompt();
  void finish(int status);
  DisplayContext display_context() const;
  bool is_me(std::string_view nick) const;

  boost::asio::io_context& io_;
  Options options_;
  Output& output_;
  std::unique_ptr<client::Client> client_;
  boost::asio::steady_timer wake_;           // the sender waits on it (only the sender arms it)
  boost::asio::steady_timer backoff_timer_;  // between reconnect attempts
  boost::asio::steady_timer backlog_timer_;  // the pipe reader waits on it
  Pacer pacer_;

  std::deque<Pending> queue_;
  std::optional<Pending> inflight_;
  std::int64_t inflight_id_ = 0;
  std::int64_t next_id_ = 1;
  bool lost_ = false;
  bool finished_ = false;
  bool quitting_ = false;
  bool input_ended_ = false;
  bool had_error_ = false;
  int exit_status_ = 0;
  int interrupts_ = 0;

  // Registration and room state.
  std::string nick_;
  std::string token_;
  std::string epoch_;
  std::int64_t history_limit_ = 100;
  std::chrono::seconds idle_{120};
  std::vector<std::string> rooms_;  // in join order
  std::string current_room_;
  Activity activity_;
  std::set<std::string> ignored_;  // folded nicks
  std::map<std::string, std::set<std::string>> members_;
  std::map<std::string, std::uint64_t> last_seq_;
  std::map<std::string, std::int64_t> joined_ts_;
  // Rooms whose catch-up after a reconnect is still under way.
  std::map<std::string, RoomCatchUp> catch_ups_;
  HistoryPager history_pager_;
};

}  // namespace corochat::chat_client
