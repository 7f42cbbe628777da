#include "cli/command_line.hpp"

#include <iostream>

#include <CLI/CLI.hpp>

namespace corochat::cli {
namespace {

// "--name" of the deepest subcommand the command line chose: "chat-replay record".
std::string command_of(const CLI::App& app) {
  std::string name = app.get_name();
  const CLI::App* at = &app;
  for (;;) {
    const auto chosen = at->get_subcommands();
    if (chosen.empty()) break;
    at = chosen.front();
    name += " " + at->get_name();
  }
  return name;
}

// CLI11 puts the option's name first and words its own way; say the same
// thing the way the rest of the message reads.
std::string error_text(const CLI::App& app, const CLI::ParseError& e) {
  std::string what = e.what();
  // A misspelt subcommand leaves its name unread, and CLI11 says only that
  // one is required: name what was not understood instead.
  if (dynamic_cast<const CLI::ExtrasError*>(&e) || dynamic_cast<const CLI::RequiredError*>(&e)) {
    const auto extras = app.remaining(true);
    const std::string first = extras.empty() ? std::string() : extras.front();
    if (first.starts_with("-")) return "unknown option " + first;
    if (!first.empty()) return "unexpected argument '" + first + "'";
  }
  return what;
}

}  // namespace

void prepare(CLI::App& app, std::string version_line) {
  app.set_help_flag("-h,--help", "show this help and exit");
  app.set_version_flag("--version", std::move(version_line), "show the version and exit");
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.get_formatter()->column_width(40);
}

Parsed parse(CLI::App& app, std::vector<std::string> args) {
  // CLI11 reads "--opt=" as a missing value; the programs take it as empty
  // (chatd --default-room= serves no default room).
  std::vector<std::string> split;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.starts_with("--") && arg.size() > 3 && arg.back() == '=' && arg.find('=') == arg.size() - 1) {
      split.push_back(arg.substr(0, arg.size() - 1));
      split.emplace_back();
    } else {
      split.push_back(arg);
    }
  }
  // CLI11 takes the arguments last first.
  std::vector<std::string> reversed(split.rbegin(), split.rend());
  Parsed parsed;
  const std::string program = app.get_name();
  try {
    app.parse(reversed);
    return parsed;
  } catch (const CLI::CallForHelp&) {
    parsed.out = app.help();
  } catch (const CLI::CallForAllHelp&) {
    parsed.out = app.help("", CLI::AppFormatMode::All);
  } catch (const CLI::CallForVersion& e) {
    parsed.out = std::string(e.what()) + "\n";
  } catch (const CLI::ParseError& e) {
    parsed.status = exit_usage;
    parsed.error = error_text(app, e);
    parsed.hint = "(" + command_of(app) + " --help lists the options)";
  }
  parsed.exit = true;
  return parsed;
}

Parsed parse(CLI::App& app, int argc, const char* const* argv) {
  return parse(app, std::vector<std::string>(argv, argv + argc));
}

int report(const Parsed& parsed, std::string_view program) {
  if (!parsed.out.empty()) std::cout << parsed.out << std::flush;
  if (!parsed.error.empty()) std::cerr << program << ": " << parsed.error << '\n' << parsed.hint << '\n';
  return parsed.status;
}

}  // namespace corochat::cli
