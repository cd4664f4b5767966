// stream.cpp: the Python-facing wrapper of one ssekit::Client.
#include "stream.hpp"

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <utility>

namespace py = pybind11;

namespace ssekit::python {
namespace {

using Clock = std::chrono::steady_clock;

// Longest stretch a waiting Python thread goes without running signal handlers: Ctrl-C must
// interrupt a blocked iteration within 200 ms, and 50 ms leaves room for the rest of the work.
constexpr std::chrono::milliseconds kSignalCheckInterval{50};

bool interpreter_finalizing() {
#if PY_VERSION_HEX >= 0x030D0000
  return Py_IsFinalizing() != 0;
#else
  return _Py_IsFinalizing() != 0;
#endif
}

bool is_argument_error(ErrorCode code) {
  return code == ErrorCode::invalid_url || code == ErrorCode::invalid_header ||
         code == ErrorCode::invalid_option;
}

}  // namespace

Stream::Stream(ClientOptions options, py::object token_provider, PyObject* event_type)
    : channel_(std::make_shared<EventChannel>()),
      token_provider_(std::move(token_provider)),
      callback_error_(py::none()),
      factory_(event_type) {
  if (!token_provider_.is_none()) {
    options.token_provider = [this] { return call_token_provider(); };
  }
  client_ = std::make_unique<Client>(std::move(options));

  // The channel, not this object, is captured: it is shared, so a callback that races the
  // destructor still finds it alive.
  client_->on_event([channel = channel_](const Event& event) { channel->push(event); });
  client_->on_state([channel = channel_](const StateChange& change) {
    if (change.state == State::closed) channel->finish(change.reason);
  });
}

Stream::~Stream() {
  channel_->close();
  if (PyGILState_Check()) {
    py::gil_scoped_release release;
    client_.reset();
  } else {
    client_.reset();
  }
}

void Stream::start() {
  Error error;
  {
    py::gil_scoped_release release;
    error = client_->start();
  }
  if (!error) return;
  if (is_argument_error(error.code)) throw py::value_error(error.message);
  channel_->finish(error);
}

py::object Stream::take(std::optional<double> timeout_seconds) {
  const bool forever = !timeout_seconds.has_value();
  const auto deadline =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(std::max(0.0, timeout_seconds.value_or(0))));
  std::vector<Event> batch;
  std::size_t count = 0;

  // A first look with the GIL held: a busy stream usually has events waiting, and handing the
  // GIL back and forth for them would cost more than taking them.
  auto outcome = channel_->take(batch, count, std::chrono::milliseconds{0});
  while (outcome == EventChannel::Outcome::timeout) {
    auto slice = kSignalCheckInterval;
    if (!forever) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return py::list();
      slice = std::min(slice, left);
    }
    {
      py::gil_scoped_release release;
      outcome = channel_->take(batch, count, slice);
    }
    if (outcome == EventChannel::Outcome::timeout && PyErr_CheckSignals() < 0) {
      throw py::error_already_set();
    }
  }
  if (outcome == EventChannel::Outcome::finished) return py::none();
  return to_list(batch, count);
}

py::list Stream::to_list(std::vector<Event>& batch, std::size_t count) {
  PyObject* list = PyList_New(static_cast<Py_ssize_t>(count));
  if (list == nullptr) throw py::error_already_set();
  py::list result = py::reinterpret_steal<py::list>(list);
  for (std::size_t i = 0; i < count; ++i) {
    PyObject* event = factory_.make(batch[i]);
    if (event == nullptr) throw py::error_already_set();
    PyList_SET_ITEM(list, static_cast<Py_ssize_t>(i), event);
  }
  channel_->recycle(std::move(batch));
  return result;
}

void Stream::close() {
  channel_->close();
  py::gil_scoped_release release;
  // One close at a time: Client::close() racing itself from several threads can post a close
  // request after the first one stopped the loop, and then wait for it forever. Serialised,
  // every later call finds the client closed and returns at once.
  std::lock_guard lock(close_mutex_);
  client_->close();
}

std::string Stream::state() const {
  py::gil_scoped_release release;
  return to_string(client_->state());
}

std::string Stream::last_event_id() const {
  py::gil_scoped_release release;
  return client_->last_event_id();
}

py::tuple Stream::close_reason() const {
  const Error reason = channel_->reason();
  return py::make_tuple(to_string(reason.code), reason.http_status, reason.message);
}

int Stream::traverse(visitproc visit, void* arg) const {
  Py_VISIT(token_provider_.ptr());
  Py_VISIT(callback_error_.ptr());
  return 0;
}

void Stream::clear_references() {
  token_provider_ = py::none();
  callback_error_ = py::none();
}

py::object Stream::callback_error() const {
  return callback_error_;
}

int Stream::wake_fd() {
  const int fd = channel_->wake_fd();
  if (fd < 0) {
    PyErr_SetFromErrno(PyExc_OSError);
    throw py::error_already_set();
  }
  return fd;
}

bool Stream::arm_wake() {
  return channel_->arm_wake();
}

void Stream::drain_wake() {
  channel_->drain_wake();
}

std::string Stream::call_token_provider() {
  // A thread that takes the GIL while the interpreter shuts down is stopped for good, which
  // would strand the loop thread; failing this attempt instead lets the client close.
  if (interpreter_finalizing()) throw std::runtime_error("token_provider: Python is shutting down");

  std::string failure;
  {
    py::gil_scoped_acquire gil;
    try {
      if (token_provider_.is_none()) return {};  // cleared by the garbage collector
      py::object token = token_provider_();
      if (token.is_none()) return {};
      if (!PyUnicode_Check(token.ptr())) {
        PyErr_Format(PyExc_TypeError, "token_provider must return str or None, not %.100s",
                     Py_TYPE(token.ptr())->tp_name);
        throw py::error_already_set();
      }
      Py_ssize_t size = 0;
      const char* text = PyUnicode_AsUTF8AndSize(token.ptr(), &size);  // fails on lone surrogates
      if (text == nullptr) throw py::error_already_set();
      return std::string(text, static_cast<std::size_t>(size));
    } catch (py::error_already_set& error) {
      callback_error_ = error.value();
      failure = std::string("token_provider raised ") + Py_TYPE(error.value().ptr())->tp_name;
    }
  }
  // The exception's text is left out: it is the app's and could quote a credential. The
  // exception itself reaches Python as the __cause__ of the ssekit.Error.
  throw std::runtime_error(failure);
}

}  // namespace ssekit::python
