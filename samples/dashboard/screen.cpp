// screen.cpp: the ncurses side of the dashboard. Everything here runs on the UI thread.
#include "screen.hpp"

#include <curses.h>
#include <langinfo.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace dashboard {
namespace {

// Columns left of the values, wide enough for "last event id".
constexpr std::size_t kLabelWidth = 16;
// Tenths of a second are what a person can follow in a countdown.
constexpr double kMillisPerSecond = 1000.0;

std::string format_countdown(std::chrono::steady_clock::duration left) {
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(left).count();
  char text[32];
  std::snprintf(text, sizeof text, "%.1f s", std::max(0.0, millis / kMillisPerSecond));
  return text;
}

// Writes one row, cut at the right edge: a long error message must not wrap into the next row.
void put_text(int row, const std::string& text) {
  mvaddnstr(row, 0, text.c_str(), std::max(0, COLS - 1));
}

void put_line(int row, const std::string& label, const std::string& value) {
  std::string text = label;
  text.resize(std::max<std::size_t>(text.size(), kLabelWidth), ' ');
  put_text(row, text + value);
}

}  // namespace

Screen::Screen(std::string url, std::string chart_field, std::chrono::milliseconds frame)
    : url_(std::move(url)), chart_field_(std::move(chart_field)) {
  // Use the user's locale so ncursesw can write UTF-8, and draw blocks only when it is UTF-8.
  std::setlocale(LC_ALL, "");
  if (std::strcmp(nl_langinfo(CODESET), "UTF-8") == 0) glyphs_ = Glyphs::unicode;

  // A dashboard redirected to a file or a pipe would loop forever drawing into it: refuse.
  // newterm, unlike initscr, also reports an unknown TERM instead of exiting the process.
  if (isatty(STDIN_FILENO) == 0 || isatty(STDOUT_FILENO) == 0) return;
  SCREEN* terminal = newterm(nullptr, stdout, stdin);
  if (terminal == nullptr) return;
  terminal_ = terminal;
  cbreak();
  noecho();
  curs_set(0);
  keypad(stdscr, TRUE);
  timeout(static_cast<int>(frame.count()));
}

Screen::~Screen() {
  if (terminal_ == nullptr) return;
  endwin();
  delscreen(static_cast<SCREEN*>(terminal_));
}

int Screen::wait_key() {
  const int key = getch();
  return key == ERR ? -1 : key;
}

void Screen::draw(const Snapshot& snapshot, std::chrono::steady_clock::time_point now) {
  erase();
  int row = 0;
  put_text(row++, "ssekit dashboard  " + url_ + "   (q quits)");
  row++;
  draw_status(snapshot, now, row);
  row++;
  draw_fields(snapshot, row);
  row++;
  draw_chart(snapshot, now, row);
  refresh();
}

void Screen::draw_status(const Snapshot& snapshot, std::chrono::steady_clock::time_point now,
                         int& row) {
  put_line(row++, "state", ssekit::to_string(snapshot.state));
  put_line(row++, "last event id",
           snapshot.last_event_id.empty() ? "(none)" : snapshot.last_event_id);
  put_line(row++, "events",
           std::to_string(snapshot.events) + "   reconnects " +
               std::to_string(snapshot.reconnects) + "   missed ids " +
               std::to_string(snapshot.missed));

  // The countdown is computed here, every frame, from the deadline the state change gave.
  if (snapshot.state == ssekit::State::waiting) {
    put_line(row++, "",
             "reconnecting in " + format_countdown(snapshot.retry_at - now) + " (attempt " +
                 std::to_string(snapshot.attempt) + ") after: " + snapshot.reason);
  } else if (snapshot.state == ssekit::State::connecting && snapshot.attempt > 0) {
    put_line(row++, "", "reconnecting now (attempt " + std::to_string(snapshot.attempt) + ")");
  } else if (snapshot.state == ssekit::State::closed) {
    put_line(row++, "", "stream closed: " + snapshot.reason);
  } else {
    row++;
  }
  put_line(row++, "", snapshot.notice);
}

void Screen::draw_fields(const Snapshot& snapshot, int& row) {
  const std::string title = snapshot.event_type.empty()
                                ? std::string("waiting for the first event")
                                : "current values (event \"" + snapshot.event_type + "\")";
  put_text(row++, title);
  for (const auto& [name, text] : snapshot.fields)
    put_line(row++, "  " + name, text);
}

void Screen::draw_chart(const Snapshot& snapshot, std::chrono::steady_clock::time_point now,
                        int& row) {
  std::string title = chart_field_ + " over the last minute";
  if (!snapshot.history.empty()) {
    auto [low, high] =
        std::minmax_element(snapshot.history.begin(), snapshot.history.end(),
                            [](const Sample& a, const Sample& b) { return a.value < b.value; });
    char range[64];
    std::snprintf(range, sizeof range, "   min %.2f  max %.2f", low->value, high->value);
    title += range;
  }
  put_text(row++, title);
  const int width = std::max(1, COLS - 1);
  const std::string line = render_sparkline(snapshot.history, now, kChartWindow, width, glyphs_);
  mvaddstr(row++, 0, line.c_str());
}

}  // namespace dashboard
