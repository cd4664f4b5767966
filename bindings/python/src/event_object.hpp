// event_object.hpp: ssekit.Event, the Python value of one event, written against the C API.
//
// A stream or parse() can produce millions of events a second, so the type is as cheap as the
// C API allows: three string fields, no cycle-collector tracking (strings cannot form cycles), and
// a factory that reuses the type and id strings while they repeat.
#pragma once

#include <Python.h>

#include <string>

#include "ssekit/event.hpp"

namespace ssekit::python {

/// Creates the ssekit.Event type. Returns a new reference, or nullptr with a Python error set.
PyObject* create_event_type();

/// Builds Python events from C++ ones. Events of one stream usually share their type and often
/// their id, so the last of each is kept and handed out again instead of decoding it anew.
/// Every method needs the GIL.
class EventFactory {
 public:
  /// `event_type` is the object create_event_type() returned; the factory keeps a reference.
  explicit EventFactory(PyObject* event_type);
  ~EventFactory();

  EventFactory(const EventFactory&) = delete;
  EventFactory& operator=(const EventFactory&) = delete;

  /// A new ssekit.Event holding `event`'s fields, or nullptr with a Python error set.
  PyObject* make(const Event& event);

 private:
  /// The str for `text`: the cached one when `text` repeats the last, else a fresh decode that
  /// replaces the cache. Returns a new reference or nullptr.
  static PyObject* reuse_or_decode(const std::string& text, std::string& last_text,
                                   PyObject*& last_object);

  PyObject* event_type_;
  std::string last_type_;
  PyObject* last_type_object_ = nullptr;
  std::string last_id_;
  PyObject* last_id_object_ = nullptr;
};

}  // namespace ssekit::python
