#include "corochat/use_tuple.hpp"
#include "terminal.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <editline/readline.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "command.hpp"
#include "display.hpp"

namespace corochat::chat_client {
namespace asio = boost::asio;
namespace {
Terminal* active_terminal = nullptr;
std::vector<std::string> completion_matches;
constexpr std::size_t max_backlog = 256;
// Bytes read from the terminal that the editor has not taken yet: the client
// reads the keyboard itself, to see a paste whole before the editor does.
std::string unread_keys;

int read_byte() {
  if (!unread_keys.empty()) {
    const auto byte = static_cast<unsigned char>(unread_keys.front());
    unread_keys.erase(0, 1);
    return byte;
  }
  // The editor asks for more than was read (the rest of an escape sequence):
  // wait for it, as its own reader would.
  unsigned char byte = 0;
  for (;;) {
    const ssize_t n = ::read(STDIN_FILENO, &byte, 1);
    if (n == 1) return byte;
    if (n < 0 && errno == EINTR) continue;
    return -1;
  }
}
}  // namespace

void PlainOutput::print(std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

void PlainOutput::print_problem(std::string_view text) {
  std::fflush(stdout);
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fputc('\n', stderr);
}

namespace {
constexpr int kept_input_lines = 1000;
}  // namespace

Terminal::Terminal(std::string history_path) : history_path_(std::move(history_path)), prompt_("> ") {
  active_terminal = this;
  // Keys come through next_key, from what read_keys has read.
  rl_getc_function = &Terminal::next_key;
  rl_attempted_completion_function = &Terminal::on_complete;
  rl_callback_handler_install(prompt_.c_str(), &Terminal::on_line);
  installed_ = true;
  stifle_history(kept_input_lines);
  if (!history_path_.empty()) read_history(history_path_.c_str());  // none yet: a first run
}

Terminal::~Terminal() {
  restore();
  active_terminal = nullptr;
}

void Terminal::restore() {
  if (!installed_) return;
  installed_ = false;
  std::fputs("\r\x1b[K", stdout);  // the prompt and any unsent text go
  std::fflush(stdout);
  rl_callback_handler_remove();
  if (!history_path_.empty()) {
    const mode_t saved = ::umask(077);  // private messages are in it
    write_history(history_path_.c_str());
    ::umask(saved);
  }
}

namespace {

std::size_t terminal_width() {
  winsize size{};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  return 80;
}

}  // namespace

void Terminal::print(std::string_view text) {
  if (!installed_) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fputs("\r\n", stdout);
    std::fflush(stdout);
    return;
  }
  // Erase the prompt and the half-typed line, print above it, then let the
  // editor draw both again, cursor where it was. "\r\n": the terminal is in
  // the editor's mode, which may not translate "\n".
  std::string out = handing_over_ ? std::string("\r\x1b[J") : erase_input();
  for (char c : text) {
    if (c == '\n') out += "\r\n";
    else out.push_back(c);
  }
  out += "\r\n";
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
  if (!handing_over_) rl_forced_update_display();
  std::fflush(stdout);
}

std::string Terminal::erase_input() const {
  std::string before_cursor = prompt_;
  before_cursor.append(rl_line_buffer, static_cast<std::size_t>(rl_point));  // rl_point counts bytes
  const std::size_t rows_up = cursor_after(before_cursor, terminal_width()).row;
  std::string out;
  if (rows_up > 0) out += "\x1b[" + std::to_string(rows_up) + "A";
  out += "\r\x1b[J";
  return out;
}

void Terminal::set_status(std::string_view room, std::string_view activity) {
  // The name comes from the server: neutralised like any text it sends.
  std::string prompt = room.empty() ? std::string() : "[" + sanitize(room) + "] ";
  if (!activity.empty()) prompt += sanitize(activity) + " ";
  if (prompt.empty()) prompt = "> ";
  if (prompt == prompt_) return;
  if (!installed_ || handing_over_) {
    prompt_ = std::move(prompt);  // drawn when the editor starts the next line
    return;
  }
  const std::string erase = erase_input();  // measured with the prompt on the screen
  prompt_ = std::move(prompt);
  rl_set_prompt(prompt_.c_str());
  std::fputs(erase.c_str(), stdout);
  rl_forced_update_display();
  std::fflush(stdout);
}

void Terminal::bell() {
  std::fputc('\a', stdout);
  std::fflush(stdout);
}

void Terminal::on_line(char* line) {
  Terminal* self = active_terminal;
  if (self) self->line_done_ = self->handing_over_ = true;
  if (line == nullptr) {  // Ctrl-D on an empty line
    if (self && self->session_) self->session_->input_end();
    return;
  }
  std::string text(line);
  std::free(line);
  if (self) self->line_done_ = true;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (!text.empty()) add_history(text.c_str());
  if (self && self->session_) self->session_->input_line(std::move(text));
}

char** Terminal::on_complete(const char* text, int start, int /*end*/) {
  rl_attempted_completion_over = 1;  // never fall back to file names
  Terminal* self = active_terminal;
  std::vector<std::string> nicks;
  if (self && self->session_) nicks = self->session_->known_nicks();
  completion_matches = complete(text, start == 0, nicks);
  if (completion_matches.empty()) return nullptr;
  return rl_completion_matches(text, &Terminal::next_match);
}

char* Terminal::next_match(const char* /*text*/, int state) {
  static std::size_t index = 0;
  if (state == 0) index = 0;
  if (index >= completion_matches.size()) return nullptr;
  return ::strdup(completion_matches[index++].c_str());
}

// One character for the editor, decoded from UTF-8 as its own reader would
// (the keyboard is UTF-8); a byte that does not decode is U+FFFD.
int Terminal::next_key(FILE* /*ignored*/) {
  const int first = read_byte();
  if (first < 0x80) return first;  // ASCII, or -1 at the end of input
  int length = 0;
  char32_t cp = 0;
  if ((first & 0xe0) == 0xc0) { length = 2; cp = first & 0x1f; }
  else if ((first & 0xf0) == 0xe0) { length = 3; cp = first & 0x0f; }
  else if ((first & 0xf8) == 0xf0) { length = 4; cp = first & 0x07; }
  else return 0xfffd;
  for (int i = 1; i < length; ++i) {
    const int next = read_byte();
    if (next < 0) return -1;
    if ((next & 0xc0) != 0x80) {
      unread_keys.insert(unread_keys.begin(), static_cast<char>(next));  // the start of the next character
      return 0xfffd;
    }
    cp = (cp << 6) | static_cast<char32_t>(next & 0x3f);
  }
  return static_cast<int>(cp);
}

void Terminal::feed_editor(std::string_view bytes) {
  unread_keys.append(bytes);
  while (!unread_keys.empty() && session_ && !session_->finished()) {
    line_done_ = false;
    rl_callback_read_char();
    handing_over_ = false;
    // libedit leaves a finished line in its buffer (and its line mode off);
    // installing the handler again starts a fresh, empty line with the prompt.
    if (line_done_ && installed_ && !session_->finished()) rl_callback_handler_install(prompt_.c_str(), &Terminal::on_line);
  }
}

// Bytes that came while a paste waits for its answer: more of the paste (a
// long one takes several reads), or the answer, a single key.
void Terminal::on_paste_read(std::string_view bytes) {
  if (bytes.size() > 1 && bytes.find_first_of("\r\n") != std::string_view::npos) {
    for (auto& line : paste_lines(bytes)) paste_.push_back(std::move(line));
    if (!session_->offer_paste(paste_.size())) paste_.clear();
    return;
  }
  std::vector<std::string> lines = std::move(paste_);
  paste_.clear();
  if (bytes.front() == 'y' || bytes.front() == 'Y') session_->send_paste(lines);
  else session_->drop_paste(lines.size());
}

asio::awaitable<void> Terminal::read_keys() {
  auto executor = co_await asio::this_coro::executor;
  // A duplicate, so that closing the descriptor leaves stdin open; only
  // readiness is awaited (the editor reads the bytes itself).
  asio::posix::stream_descriptor keys(executor, ::dup(STDIN_FILENO));
  std::vector<char> buffer(65536);
  while (session_ && !session_->finished()) {
    auto [ec] = co_await keys.async_wait(asio::posix::stream_descriptor::wait_read, use_tuple);
    if (ec) break;
    const ssize_t n = ::read(STDIN_FILENO, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {  // the terminal is gone: as Ctrl-D
      session_->input_end();
      break;
    }
    const std::string_view bytes(buffer.data(), static_cast<std::size_t>(n));
    if (!paste_.empty()) {
      on_paste_read(bytes);
    } else if (is_paste(bytes)) {
      paste_ = paste_lines(bytes);  // none when only line ends came: nothing to ask
      if (!paste_.empty() && !session_->offer_paste(paste_.size())) paste_.clear();
    } else {
      feed_editor(bytes);
    }
  }
}

asio::awaitable<void> read_pipe(Session& session) {
  auto executor = co_await asio::this_coro::executor;
  asio::posix::stream_descriptor input(executor);
  boost::system::error_code assign_error;
  input.assign(::dup(STDIN_FILENO), assign_error);  // regular files and /dev/null cannot be polled
  std::string pending;
  std::vector<char> buffer(65536);
  for (;;) {
    while (session.backlog() >= max_backlog && !session.finished()) {
      session.backlog_shrunk().expires_at(asio::steady_timer::time_point::max());
      co_await session.backlog_shrunk().async_wait(use_tuple);
    }
    if (session.finished()) co_return;
    std::size_t n = 0;
    if (!assign_error) {
      auto [ec, got] = co_await input.async_read_some(asio::buffer(buffer), use_tuple);
      if (ec) break;
      n = got;
    } else {
      const ssize_t got = ::read(STDIN_FILENO, buffer.data(), buffer.size());
      if (got <= 0) break;
      n = static_cast<std::size_t>(got);
    }
    pending.append(buffer.data(), n);
    std::size_t start = 0;
    for (std::size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1)
      session.input_line(pending.substr(start, nl - start));
    pending.erase(0, start);
  }
  if (!pending.empty()) session.input_line(std::move(pending));
  session.input_end();
}

}  // namespace corochat::chat_client
