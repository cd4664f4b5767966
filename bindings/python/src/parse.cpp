// parse.cpp: feeds bytes from Python to an EventParser and collects the events in a list.
#include "parse.hpp"

#include <string_view>

#include "event_object.hpp"
#include "ssekit/parser.hpp"

namespace ssekit::python {
namespace {

// Appends each event to a list. A Python error (out of memory) cannot propagate through the
// parser, so it is remembered, the rest of the chunk is ignored and the caller reports it.
class ListCollector : public EventParser::Handler {
 public:
  ListCollector(EventFactory& factory, PyObject* list) : factory_(factory), list_(list) {}

  void on_event(const Event& event) override {
    if (failed_) return;
    PyObject* object = factory_.make(event);
    if (object == nullptr || PyList_Append(list_, object) < 0) failed_ = true;
    Py_XDECREF(object);
  }

  bool failed() const { return failed_; }

 private:
  EventFactory& factory_;
  PyObject* list_;
  bool failed_ = false;
};

// Feeds one bytes-like object. Returns false with a Python error set when `chunk` is not one.
bool feed_chunk(PyObject* chunk, Py_ssize_t index, EventParser& parser, ListCollector& collector) {
  if (!PyObject_CheckBuffer(chunk) || PyUnicode_Check(chunk)) {
    if (index < 0) {
      PyErr_Format(PyExc_TypeError, "parse() takes bytes or an iterable of bytes, not %.100s%s",
                   Py_TYPE(chunk)->tp_name,
                   PyUnicode_Check(chunk) ? " (encode text first, e.g. text.encode())" : "");
    } else {
      PyErr_Format(PyExc_TypeError, "parse(): chunk %zd is %.100s, not bytes", index,
                   Py_TYPE(chunk)->tp_name);
    }
    return false;
  }

  Py_buffer view;
  if (PyObject_GetBuffer(chunk, &view, PyBUF_SIMPLE) < 0) return false;
  parser.feed(std::string_view(static_cast<const char*>(view.buf), view.len), collector);
  PyBuffer_Release(&view);
  return !collector.failed();
}

}  // namespace

PyObject* parse_events(PyObject* data, PyObject* event_type) {
  PyObject* list = PyList_New(0);
  if (list == nullptr) return nullptr;
  EventFactory factory(event_type);
  EventParser parser;
  ListCollector collector(factory, list);

  // Whole bytes first: a bytes object is also iterable (over ints), which must not be taken
  // for a sequence of chunks.
  const bool whole = PyObject_CheckBuffer(data) || PyUnicode_Check(data);
  if (whole) {
    if (!feed_chunk(data, -1, parser, collector)) Py_CLEAR(list);
    return list;
  }

  PyObject* chunks = PyObject_GetIter(data);
  if (chunks == nullptr) {
    PyErr_Format(PyExc_TypeError, "parse() takes bytes or an iterable of bytes, not %.100s",
                 Py_TYPE(data)->tp_name);
    Py_DECREF(list);
    return nullptr;
  }
  Py_ssize_t index = 0;
  while (PyObject* chunk = PyIter_Next(chunks)) {
    const bool fed = feed_chunk(chunk, index++, parser, collector);
    Py_DECREF(chunk);
    if (!fed) break;
  }
  Py_DECREF(chunks);
  if (PyErr_Occurred()) Py_CLEAR(list);
  return list;
}

}  // namespace ssekit::python
