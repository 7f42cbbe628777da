#include "protocols.hpp"

#include <charconv>
#include <cstring>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "corochat/protocol/event_type.hpp"

namespace corochat::bench {
namespace json = boost::json;
namespace {

// Calls on_line for every complete line (without "\r\n" or "\n"); returns the
// bytes used.
template <class OnLine>
std::size_t for_each_line(std::string_view data, OnLine&& on_line) {
  std::size_t used = 0;
  while (used < data.size()) {
    const void* nl = std::memchr(data.data() + used, '\n', data.size() - used);
    if (!nl) break;
    const std::size_t end = static_cast<std::size_t>(static_cast<const char*>(nl) - data.data());
    std::string_view line = data.substr(used, end - used);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    used = end + 1;
    if (!line.empty()) on_line(line);
  }
  return used;
}

std::uint64_t parse_digits(std::string_view text) {
  std::uint64_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

std::string_view find_after(std::string_view text, std::string_view marker, std::size_t from = 0) {
  const std::size_t at = text.find(marker, from);
  return at == std::string_view::npos ? std::string_view{} : text.substr(at + marker.size());
}

// ---- corochat: JSON lines ----------------------------------------------------
class Corochat final : public Protocol {
 public:
  Corochat(std::string nick, std::string room) : nick_(std::move(nick)), room_(std::move(room)) {
    json::object say{{"type", "say"}, {"room", room_}, {"text", ""}};
    const std::string line = json::serialize(say);
    const std::size_t text_at = line.find("\"text\":\"") + 8;
    say_prefix_ = line.substr(0, text_at);
    say_suffix_ = line.substr(text_at) + "\n";
  }
  std::string greeting() const override {
    json::object hello{{"type", "hello"}, {"nick", nick_}};
    return json::serialize(hello) + "\n";
  }
  std::string join() const override {
    json::object join{{"type", "join"}, {"room", room_}};
    return json::serialize(join) + "\n";
  }
  void append_publish(std::string& out, std::string_view payload) const override {
    // The payload needs no JSON escaping (see payload.hpp).
    out += say_prefix_;
    out += payload;
    out += say_suffix_;
  }
  std::size_t parse(std::string_view data, Events& events) override {
    return for_each_line(data, [&](std::string_view line) { on_line(line, events); });
  }

 private:
  void on_line(std::string_view line, Events& events) {
    // The hot path: chatd writes "type" first, so a message is recognised and
    // taken apart by a scan, without building a JSON document.
    static constexpr std::string_view message_prefix = R"({"type":"message",)";
    if (line.starts_with(message_prefix)) {
      std::string_view text = find_after(line, R"("text":")", message_prefix.size());
      const std::size_t end = text.find('"');
      if (end != std::string_view::npos) {
        std::string_view seq = find_after(text, R"("seq":)", end);
        events.delivery(text.substr(0, end), parse_digits(seq));
        return;
      }
    }
    boost::system::error_code ec;
    json::value value = json::parse(line, ec);
    if (ec || !value.is_object()) return;
    const json::object& event = value.get_object();
    auto field = [&](std::string_view name) -> std::string_view {
      const json::value* v = event.if_contains(name);
      return v && v->is_string() ? std::string_view(v->get_string()) : std::string_view{};
    };
    switch (protocol::event_type_of(event)) {
      case protocol::EventType::welcome: events.registered(); break;
      case protocol::EventType::joined:
        if (field("nick") == nick_ && field("room") == room_) events.joined();
        break;
      case protocol::EventType::message: {
        const json::value* seq = event.if_contains("seq");
        events.delivery(field("text"), seq && seq->is_int64() ? static_cast<std::uint64_t>(seq->get_int64()) : 0);
        break;
      }
      case protocol::EventType::error:
      case protocol::EventType::bye: events.error(line); break;
      case protocol::EventType::ping: events.reply("{\"type\":\"pong\"}\n"); break;
      default: break;
    }
  }

  std::string nick_;
  std::string room_;
  std::string say_prefix_;
  std::string say_suffix_;
};

// ---- IRC ----------------------------------------------------------------------
class Irc final : public Protocol {
 public:
  Irc(std::string nick, std::string room, std::string oper)
      : nick_(std::move(nick)), channel_("#" + room), oper_(std::move(oper)) {}
  std::string greeting() const override {
    return "NICK " + nick_ + "\r\nUSER " + nick_ + " 0 * :" + nick_ + "\r\n";
  }
  std::string join() const override {
    std::string out;
    if (const std::size_t colon = oper_.find(':'); colon != std::string::npos)
      out = "OPER " + oper_.substr(0, colon) + " " + oper_.substr(colon + 1) + "\r\nMODE " + nick_ + " +F\r\n";
    return out + "JOIN " + channel_ + "\r\n";
  }
  bool join_waits_for_registration() const override { return true; }
  void append_publish(std::string& out, std::string_view payload) const override {
    out += "PRIVMSG ";
    out += channel_;
    out += " :";
    out += payload;
    out += "\r\n";
  }
  std::size_t parse(std::string_view data, Events& events) override {
    return for_each_line(data, [&](std::string_view line) { on_line(line, events); });
  }

 private:
  void on_line(std::string_view line, Events& events) {
    if (line.starts_with(':')) {  // drop the prefix
      const std::size_t space = line.find(' ');
      line = space == std::string_view::npos ? std::string_view{} : line.substr(space + 1);
    }
    const std::size_t space = line.find(' ');
    const std::string_view command = line.substr(0, space);
    const std::string_view params = space == std::string_view::npos ? std::string_view{} : line.substr(space + 1);
    if (command == "PRIVMSG") {
      const std::size_t colon = params.find(" :");
      if (colon != std::string_view::npos) events.delivery(params.substr(colon + 2), 0);
    } else if (command == "PING") {
      std::string pong = "PONG ";
      pong += params;
      pong += "\r\n";
      events.reply(pong);
    } else if (command == "001") {
      events.registered();
    } else if (command == "366") {  // end of NAMES: the join is complete
      // "366 <nick> <channel> :End of /NAMES list."
      const std::size_t at = params.find(' ');
      const std::string_view rest = at == std::string_view::npos ? std::string_view{} : params.substr(at + 1);
      if (rest.substr(0, rest.find(' ')) == channel_) events.joined();
    } else if (command == "ERROR" ||
               (command.size() == 3 && (command[0] == '4' || command[0] == '5') && command != "422")) {
      // Every error reply is a failure but 422, a server without a MOTD.
      events.error(line);
    }
  }

  std::string nick_;
  std::string channel_;
  std::string oper_;
};

// ---- NATS ---------------------------------------------------------------------
class Nats final : public Protocol {
 public:
  Nats(std::string nick, std::string room, Role role)
      : nick_(std::move(nick)), subject_(std::move(room)), role_(role) {}
  std::string greeting() const override {
    return R"(CONNECT {"verbose":false,"pedantic":false,"name":")" + nick_ + "\"}\r\n";
  }
  // The PONG to this PING says that everything before it was handled.
  std::string join() const override {
    return role_ == Role::subscriber ? "SUB " + subject_ + " 1\r\nPING\r\n" : "PING\r\n";
  }
  void append_publish(std::string& out, std::string_view payload) const override {
    char size[24];
    auto [end, ec] = std::to_chars(size, size + sizeof size, payload.size());
    out += "PUB ";
    out += subject_;
    out += ' ';
    out.append(size, end);
    out += "\r\n";
    out += payload;
    out += "\r\n";
  }
  std::size_t parse(std::string_view data, Events& events) override {
    std::size_t used = 0;
    for (;;) {
      const std::size_t eol = data.find("\r\n", used);
      if (eol == std::string_view::npos) return used;
      const std::string_view line = data.substr(used, eol - used);
      if (line.starts_with("MSG ")) {
        // "MSG <subject> <sid> [reply-to] <#bytes>" then the payload and "\r\n".
        const std::uint64_t size = parse_digits(line.substr(line.rfind(' ') + 1));
        const std::size_t payload_at = eol + 2;
        if (data.size() < payload_at + size + 2) return used;  // not all here yet
        events.delivery(data.substr(payload_at, size), 0);
        used = payload_at + size + 2;
        continue;
      }
      used = eol + 2;
      if (line == "PING") events.reply("PONG\r\n");
      else if (line == "PONG") {
        if (!joined_) events.joined();
        joined_ = true;
      } else if (line.starts_with("-ERR")) events.error(line);
    }
  }

 private:
  std::string nick_;
  std::string subject_;
  Role role_;
  bool joined_ = false;
};

// ---- Redis pub/sub (RESP2) -------------------------------------------------------
std::string resp_command(std::initializer_list<std::string_view> words) {
  std::string out = "*" + std::to_string(words.size()) + "\r\n";
  for (std::string_view w : words) {
    out += "$" + std::to_string(w.size()) + "\r\n";
    out += w;
    out += "\r\n";
  }
  return out;
}

class Redis final : public Protocol {
 public:
  Redis(std::string channel, Role role) : channel_(std::move(channel)), role_(role) {
    publish_prefix_ = "*3\r\n$7\r\nPUBLISH\r\n$" + std::to_string(channel_.size()) + "\r\n" + channel_ + "\r\n$";
  }
  std::string greeting() const override { return {}; }
  std::string join() const override {
    return role_ == Role::subscriber ? resp_command({"SUBSCRIBE", channel_}) : resp_command({"PING"});
  }
  void append_publish(std::string& out, std::string_view payload) const override {
    char size[24];
    auto [end, ec] = std::to_chars(size, size + sizeof size, payload.size());
    out += publish_prefix_;
    out.append(size, end);
    out += "\r\n";
    out += payload;
    out += "\r\n";
  }
  std::size_t parse(std::string_view data, Events& events) override {
    std::size_t used = 0;
    while (used < data.size()) {
      std::size_t at = used;
      std::string_view items[3];
      std::size_t count = 0;
      const Value top = read_value(data, at);
      if (top.kind == Value::incomplete) return used;
      if (top.kind == Value::array) {
        // Only pub/sub arrays come here: "message", "subscribe", ... of
        // bulk strings and integers.
        for (std::int64_t i = 0; i < top.length; ++i) {
          const Value item = read_value(data, at);
          if (item.kind == Value::incomplete) return used;
          if (count < 3) items[count++] = item.text;
        }
        if (count == 3 && items[0] == "message") events.delivery(items[2], 0);
        else if (count >= 2 && items[0] == "subscribe" && items[1] == channel_) events.joined();
      } else if (top.kind == Value::error) {
        events.error(top.text);
      } else if (top.kind == Value::simple && top.text == "PONG") {
        events.joined();
      }
      used = at;
    }
    return used;
  }

 private:
  struct Value {
    enum Kind { incomplete, simple, error, integer, bulk, array } kind = incomplete;
    std::string_view text;
    std::int64_t length = 0;
  };
  // One RESP value at `at` (not the items of an array), moving `at` past it.
  static Value read_value(std::string_view data, std::size_t& at) {
    const std::size_t eol = data.find("\r\n", at);
    if (eol == std::string_view::npos || eol == at) return {};
    const char kind = data[at];
    const std::string_view line = data.substr(at + 1, eol - at - 1);
    Value value;
    value.text = line;
    switch (kind) {
      case '+': value.kind = Value::simple; break;
      case '-': value.kind = Value::error; break;
      case ':': value.kind = Value::integer; break;
      case '*':
        value.kind = Value::array;
        std::from_chars(line.data(), line.data() + line.size(), value.length);
        break;
      case '$': {
        std::int64_t size = 0;
        std::from_chars(line.data(), line.data() + line.size(), size);
        if (size < 0) {  // the null bulk string
          at = eol + 2;
          return Value{Value::bulk, {}, 0};
        }
        const std::size_t start = eol + 2;
        if (data.size() < start + static_cast<std::size_t>(size) + 2) return {};
        at = start + static_cast<std::size_t>(size) + 2;
        return Value{Value::bulk, data.substr(start, static_cast<std::size_t>(size)), size};
      }
      default: value.kind = Value::error; break;  // not RESP: report it
    }
    at = eol + 2;
    return value;
  }

  std::string channel_;
  Role role_;
  std::string publish_prefix_;
};

// ---- lines: the floor server ---------------------------------------------------------
class Lines final : public Protocol {
 public:
  std::string greeting() const override { return {}; }
  std::string join() const override { return {}; }
  bool join_is_silent() const override { return true; }
  void append_publish(std::string& out, std::string_view payload) const override {
    out += payload;
    out += '\n';
  }
  std::size_t parse(std::string_view data, Events& events) override {
    return for_each_line(data, [&](std::string_view line) { events.delivery(line, 0); });
  }
};

}  // namespace

std::optional<ProtocolKind> protocol_from_name(std::string_view name) {
  for (ProtocolKind kind : {ProtocolKind::corochat, ProtocolKind::irc, ProtocolKind::nats, ProtocolKind::redis,
                            ProtocolKind::lines})
    if (name_of(kind) == name) return kind;
  return std::nullopt;
}

std::string_view name_of(ProtocolKind kind) {
  switch (kind) {
    case ProtocolKind::corochat: return "corochat";
    case ProtocolKind::irc: return "irc";
    case ProtocolKind::nats: return "nats";
    case ProtocolKind::redis: return "redis";
    case ProtocolKind::lines: return "lines";
  }
  return "?";
}

bool quickack_by_default(ProtocolKind kind) {
  return kind == ProtocolKind::irc || kind == ProtocolKind::nats || kind == ProtocolKind::redis;
}

std::unique_ptr<Protocol> make_protocol(ProtocolKind kind, std::string nick, std::string room, Role role,
                                        std::string irc_oper) {
  switch (kind) {
    case ProtocolKind::corochat: return std::make_unique<Corochat>(std::move(nick), std::move(room));
    case ProtocolKind::irc:
      return std::make_unique<Irc>(std::move(nick), std::move(room),
                                   role == Role::publisher ? std::move(irc_oper) : std::string{});
    case ProtocolKind::nats: return std::make_unique<Nats>(std::move(nick), std::move(room), role);
    case ProtocolKind::redis: return std::make_unique<Redis>(std::move(room), role);
    case ProtocolKind::lines: return std::make_unique<Lines>();
  }
  return nullptr;
}

}  // namespace corochat::bench
