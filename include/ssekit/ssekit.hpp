// ssekit/ssekit.hpp: the whole public API in one include.
#pragma once

#include "ssekit/backoff.hpp"
#include "ssekit/client.hpp"
#include "ssekit/error.hpp"
#include "ssekit/event.hpp"
#include "ssekit/log.hpp"
#include "ssekit/loop.hpp"
#include "ssekit/options.hpp"
#include "ssekit/parser.hpp"
#include "ssekit/version.hpp"
