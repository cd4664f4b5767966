// module.cpp: the _ssekit extension module. The public API is the ssekit package around it; this
// module holds only what must be native: the Event type, parse() and the stream engine.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "event_object.hpp"
#include "parse.hpp"
#include "ssekit/options.hpp"
#include "ssekit/version.hpp"
#include "stream.hpp"

namespace py = pybind11;
using ssekit::python::Stream;

namespace {

// ssekit.Event, created once at import and kept for the life of the process: every event the
// module makes refers to it, so it must outlive them all.
PyObject* event_type = nullptr;

using Headers = std::vector<std::pair<std::string, std::string>>;

// Builds client options from values the Python layer has already checked and converted
// (durations in milliseconds, headers as pairs, body as bytes).
ssekit::ClientOptions make_options(std::string url, std::string method, Headers headers,
                                   py::bytes body, std::string bearer, std::string cookies,
                                   std::string last_event_id, long backoff_initial_ms,
                                   long backoff_max_ms, long idle_timeout_ms, bool reconnect,
                                   std::optional<unsigned> max_retries, std::string cacert,
                                   bool verify) {
  ssekit::ClientOptions options;
  options.url = std::move(url);
  options.method = std::move(method);
  options.headers = std::move(headers);
  options.body = std::string(body);
  options.bearer_token = std::move(bearer);
  options.cookies = std::move(cookies);
  options.last_event_id = std::move(last_event_id);
  options.reconnect_policy.initial = std::chrono::milliseconds{backoff_initial_ms};
  options.reconnect_policy.max = std::chrono::milliseconds{backoff_max_ms};
  options.reconnect_policy.max_attempts = max_retries;
  options.idle_timeout = std::chrono::milliseconds{idle_timeout_ms};
  options.reconnect = reconnect;
  options.tls.ca_file = std::move(cacert);
  options.tls.verify = verify;
  return options;
}

// The Stream inside a Python instance, or nullptr when its constructor has not run (or failed):
// the collector may visit an instance in that state.
Stream* stream_of(PyObject* self) {
  auto* instance = reinterpret_cast<py::detail::instance*>(self);
  auto holder = instance->get_value_and_holder();
  return holder.holder_constructed() ? holder.template holder<std::unique_ptr<Stream>>().get()
                                     : nullptr;
}

}  // namespace

PYBIND11_MODULE(_ssekit, m) {
  m.doc() = "Native core of the ssekit package; import ssekit instead.";

  event_type = ssekit::python::create_event_type();
  if (event_type == nullptr) throw py::error_already_set();
  m.attr("Event") = py::reinterpret_borrow<py::object>(event_type);

  m.def(
      "parse",
      [](py::handle data) {
        PyObject* events = ssekit::python::parse_events(data.ptr(), event_type);
        if (events == nullptr) throw py::error_already_set();
        return py::reinterpret_steal<py::list>(events);
      },
      py::arg("data"), "Parses bytes, or an iterable of bytes chunks, into a list of Event.");

  m.def(
      "version", [] { return std::string(ssekit::version()); },
      "The version of the C++ library the module is built with.");

  // The stream holds Python objects (token_provider, the exception it raised) that can close a
  // reference cycle through its owner, so the type takes part in garbage collection.
  py::custom_type_setup collectable([](PyHeapTypeObject* heap_type) {
    PyTypeObject* type = &heap_type->ht_type;
    type->tp_flags |= Py_TPFLAGS_HAVE_GC;
    type->tp_traverse = [](PyObject* self, visitproc visit, void* arg) {
      Py_VISIT(Py_TYPE(self));  // instances of a heap type reference it
      auto* stream = stream_of(self);
      return stream != nullptr ? stream->traverse(visit, arg) : 0;
    };
    type->tp_clear = [](PyObject* self) {
      if (auto* stream = stream_of(self)) stream->clear_references();
      return 0;
    };
  });

  py::class_<Stream>(m, "Stream", "One event stream driven by the C++ client.", collectable)
      .def(py::init([](std::string url, std::string method, Headers headers, py::bytes body,
                       std::string bearer, py::object token_provider, std::string cookies,
                       std::string last_event_id, long backoff_initial_ms, long backoff_max_ms,
                       long idle_timeout_ms, bool reconnect, std::optional<unsigned> max_retries,
                       std::string cacert, bool verify) {
             auto options =
                 make_options(std::move(url), std::move(method), std::move(headers),
                              std::move(body), std::move(bearer), std::move(cookies),
                              std::move(last_event_id), backoff_initial_ms, backoff_max_ms,
                              idle_timeout_ms, reconnect, max_retries, std::move(cacert), verify);
             return std::make_unique<Stream>(std::move(options), std::move(token_provider),
                                             event_type);
           }),
           py::kw_only(), py::arg("url"), py::arg("method"), py::arg("headers"), py::arg("body"),
           py::arg("bearer"), py::arg("token_provider"), py::arg("cookies"),
           py::arg("last_event_id"), py::arg("backoff_initial_ms"), py::arg("backoff_max_ms"),
           py::arg("idle_timeout_ms"), py::arg("reconnect"), py::arg("max_retries"),
           py::arg("cacert"), py::arg("verify"))
      .def("start", &Stream::start)
      .def("take", &Stream::take, py::arg("timeout"))
      .def("close", &Stream::close)
      .def_property_readonly("state", &Stream::state)
      .def_property_readonly("last_event_id", &Stream::last_event_id)
      .def("close_reason", &Stream::close_reason)
      .def("callback_error", &Stream::callback_error)
      .def("wake_fd", &Stream::wake_fd)
      .def("arm_wake", &Stream::arm_wake)
      .def("drain_wake", &Stream::drain_wake);
}
