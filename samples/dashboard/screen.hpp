// screen.hpp: draws a Snapshot of the board with ncurses.
//
// Owns the terminal between its constructor and destructor, so the terminal is restored on
// every way out of main (return, exception).
#pragma once

#include <chrono>
#include <string>

#include "board.hpp"
#include "sparkline.hpp"

namespace dashboard {

class Screen {
 public:
  /// Takes over the terminal on stdin/stdout. ok() is false when they are not a terminal.
  /// `frame` is how long wait_key() waits for a key: the redraw interval.
  Screen(std::string url, std::string chart_field, std::chrono::milliseconds frame);
  ~Screen();

  Screen(const Screen&) = delete;
  Screen& operator=(const Screen&) = delete;

  bool ok() const { return terminal_ != nullptr; }

  /// Waits up to one frame for a key; returns it, or -1 when none was pressed.
  int wait_key();

  /// Redraws the whole screen from `snapshot`.
  void draw(const Snapshot& snapshot, std::chrono::steady_clock::time_point now);

 private:
  void draw_status(const Snapshot& snapshot, std::chrono::steady_clock::time_point now, int& row);
  void draw_fields(const Snapshot& snapshot, int& row);
  void draw_chart(const Snapshot& snapshot, std::chrono::steady_clock::time_point now, int& row);

  std::string url_;
  std::string chart_field_;
  Glyphs glyphs_ = Glyphs::ascii;
  void* terminal_ = nullptr;  // ncurses' SCREEN*, kept opaque so this header needs no curses.h
};

}  // namespace dashboard
