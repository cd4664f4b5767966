// event_object.cpp: the ssekit.Event type and the factory that fills it from C++ events.
#include "event_object.hpp"

namespace ssekit::python {
namespace {

struct EventObject {
  PyObject_HEAD PyObject* type;
  PyObject* data;
  PyObject* id;
};

EventObject* as_event(PyObject* self) {
  return reinterpret_cast<EventObject*>(self);
}

// The parser hands out valid UTF-8 (it replaces invalid bytes with U+FFFD), so "replace" never
// changes anything; it only guarantees that decoding cannot fail on bytes from elsewhere.
PyObject* decode(const std::string& text) {
  return PyUnicode_DecodeUTF8(text.data(), static_cast<Py_ssize_t>(text.size()), "replace");
}

void event_dealloc(PyObject* self) {
  EventObject* event = as_event(self);
  Py_XDECREF(event->type);
  Py_XDECREF(event->data);
  Py_XDECREF(event->id);
  PyTypeObject* type = Py_TYPE(self);
  type->tp_free(self);
  Py_DECREF(type);  // instances of a heap type own a reference to it
}

PyObject* event_new(PyTypeObject* type, PyObject* args, PyObject* kwargs) {
  static const char* keywords[] = {"type", "data", "id", nullptr};
  PyObject* event_type = nullptr;
  PyObject* data = nullptr;
  PyObject* id = nullptr;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|$UUU:Event", const_cast<char**>(keywords),
                                   &event_type, &data, &id)) {
    return nullptr;
  }

  EventObject* event = PyObject_New(EventObject, type);
  if (event == nullptr) return nullptr;
  event->type = event_type != nullptr ? Py_NewRef(event_type) : PyUnicode_FromString("message");
  event->data = data != nullptr ? Py_NewRef(data) : PyUnicode_FromString("");
  event->id = id != nullptr ? Py_NewRef(id) : PyUnicode_FromString("");
  if (event->type == nullptr || event->data == nullptr || event->id == nullptr) {
    Py_DECREF(event);
    return nullptr;
  }
  return reinterpret_cast<PyObject*>(event);
}

PyObject* event_repr(PyObject* self) {
  EventObject* event = as_event(self);
  return PyUnicode_FromFormat("Event(type=%R, data=%R, id=%R)", event->type, event->data,
                              event->id);
}

// Two events are equal when their type, data and id are; anything else is not an Event, so
// Python is told to try the other operand's comparison instead.
PyObject* event_richcompare(PyObject* self, PyObject* other, int op) {
  if ((op != Py_EQ && op != Py_NE) || Py_TYPE(other) != Py_TYPE(self)) {
    Py_RETURN_NOTIMPLEMENTED;
  }
  EventObject* a = as_event(self);
  EventObject* b = as_event(other);
  int equal = 1;
  for (auto [x, y] : {std::pair{a->type, b->type}, {a->data, b->data}, {a->id, b->id}}) {
    equal = PyObject_RichCompareBool(x, y, Py_EQ);
    if (equal < 0) return nullptr;
    if (equal == 0) break;
  }
  return PyBool_FromLong(op == Py_EQ ? equal : !equal);
}

Py_hash_t event_hash(PyObject* self) {
  EventObject* event = as_event(self);
  PyObject* fields = PyTuple_Pack(3, event->type, event->data, event->id);
  if (fields == nullptr) return -1;
  Py_hash_t hash = PyObject_Hash(fields);
  Py_DECREF(fields);
  return hash;
}

PyObject* event_json(PyObject* self, PyObject* /*unused*/) {
  // Imported on first use: most programs that never call json() need not load the module.
  static PyObject* loads = nullptr;
  if (loads == nullptr) {
    PyObject* json = PyImport_ImportModule("json");
    if (json == nullptr) return nullptr;
    loads = PyObject_GetAttrString(json, "loads");
    Py_DECREF(json);
    if (loads == nullptr) return nullptr;
  }
  return PyObject_CallOneArg(loads, as_event(self)->data);
}

PyObject* get_type(PyObject* self, void*) {
  return Py_NewRef(as_event(self)->type);
}
PyObject* get_data(PyObject* self, void*) {
  return Py_NewRef(as_event(self)->data);
}
PyObject* get_id(PyObject* self, void*) {
  return Py_NewRef(as_event(self)->id);
}

PyGetSetDef event_fields[] = {
    {"type", get_type, nullptr, PyDoc_STR("The event type: the `event:` field, else 'message'."),
     nullptr},
    {"data", get_data, nullptr, PyDoc_STR("The `data:` lines joined with '\\n'."), nullptr},
    {"id", get_id, nullptr,
     PyDoc_STR("The last event ID in force when the event arrived, '' if none."), nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

PyMethodDef event_methods[] = {
    {"json", event_json, METH_NOARGS,
     PyDoc_STR("json() -> Any\n--\n\nDecodes `data` as JSON (json.loads); raises "
               "json.JSONDecodeError when it is not JSON.")},
    {nullptr, nullptr, 0, nullptr},
};

const char kEventDoc[] =
    "Event(*, type='message', data='', id='')\n--\n\n"
    "One Server-Sent Event: its type, its data and the last event ID in force.\n\n"
    "Events are immutable values: they compare equal and hash alike when the three fields do.";

PyType_Slot event_slots[] = {
    {Py_tp_dealloc, reinterpret_cast<void*>(event_dealloc)},
    {Py_tp_new, reinterpret_cast<void*>(event_new)},
    {Py_tp_repr, reinterpret_cast<void*>(event_repr)},
    {Py_tp_richcompare, reinterpret_cast<void*>(event_richcompare)},
    {Py_tp_hash, reinterpret_cast<void*>(event_hash)},
    {Py_tp_getset, event_fields},
    {Py_tp_methods, event_methods},
    {Py_tp_doc, const_cast<char*>(kEventDoc)},
    {0, nullptr},
};

PyType_Spec event_spec = {
    "ssekit.Event",
    sizeof(EventObject),
    0,
    // Not Py_TPFLAGS_HAVE_GC: the fields are strings, which cannot form reference cycles, and
    // untracked objects keep millions of events from triggering collections.
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE,
    event_slots,
};

}  // namespace

PyObject* create_event_type() {
  return PyType_FromSpec(&event_spec);
}

EventFactory::EventFactory(PyObject* event_type) : event_type_(Py_NewRef(event_type)) {}

EventFactory::~EventFactory() {
  Py_XDECREF(last_type_object_);
  Py_XDECREF(last_id_object_);
  Py_DECREF(event_type_);
}

PyObject* EventFactory::reuse_or_decode(const std::string& text, std::string& last_text,
                                        PyObject*& last_object) {
  if (last_object != nullptr && text == last_text) return Py_NewRef(last_object);
  PyObject* decoded = decode(text);
  if (decoded == nullptr) return nullptr;
  Py_XSETREF(last_object, Py_NewRef(decoded));
  last_text = text;
  return decoded;
}

PyObject* EventFactory::make(const Event& event) {
  EventObject* object = PyObject_New(EventObject, reinterpret_cast<PyTypeObject*>(event_type_));
  if (object == nullptr) return nullptr;
  object->type = object->data = object->id = nullptr;  // so a failed decode deallocates cleanly
  object->type = reuse_or_decode(event.type, last_type_, last_type_object_);
  object->data = decode(event.data);
  object->id = reuse_or_decode(event.id, last_id_, last_id_object_);
  if (object->type == nullptr || object->data == nullptr || object->id == nullptr) {
    Py_DECREF(object);
    return nullptr;
  }
  return reinterpret_cast<PyObject*>(object);
}

}  // namespace ssekit::python
