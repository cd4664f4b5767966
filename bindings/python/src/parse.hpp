// parse.hpp: ssekit.parse(), the C++ EventParser over bytes already in memory.
#pragma once

#include <Python.h>

namespace ssekit::python {

/// Parses `data` (a bytes-like object, or an iterable of bytes-like chunks) as one event stream
/// and returns a new list of events built from `event_type`. Returns nullptr with TypeError set
/// for str or other non-bytes input, as CPython functions do.
PyObject* parse_events(PyObject* data, PyObject* event_type);

}  // namespace ssekit::python
