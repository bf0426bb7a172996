/*
 * Zero-copy sends of file bytes to a socket, for the stream body (app/stream/sendfile.ts).
 *
 * Node has no sendfile for sockets: its bodies are read into user memory and written back out, two copies
 * per byte. This addon gives JavaScript these calls, on Node-API and libuv's stable C API (so one build
 * serves every Node and Electron of the same Node-API version):
 *
 *   dup(fd) -> fd          a close-on-exec duplicate of a socket, so the socket outlives Node closing its own
 *                          fd while a send is in flight, and the number is never reused under a send
 *   close(fd)              closes such a duplicate
 *   shutdown(fd)           shuts the connection down both ways (an abort during a send)
 *   send(out, in, offset, count, cb(errno, sent))
 *                          sendfile(2) on the libuv pool until `count` bytes are sent, the socket is full
 *                          (errno EAGAIN, with the bytes sent before it: the socket is non-blocking), the
 *                          file ends (errno 0, sent < count) or an error. The pool thread may wait on the
 *                          disk, never on the client.
 *   sendNow(out, in, offset, count, result)
 *                          the same on the calling thread, for bytes `cached` says are in memory (what a
 *                          pool hop costs, two thread wake-ups, is more than the send itself); `sent` and
 *                          `errno` land in result[0] and result[1], a Float64Array the caller keeps
 *   cached(fd, offset, count) -> 1 | 0 | -1
 *                          whether every page of the range is in the page cache (cachestat(2), Linux 6.5);
 *                          -1 where the kernel cannot tell
 *   readNow(fd, buffer, offset) -> bytes read | -errno
 *                          preadv2(RWF_NOWAIT) into the buffer: -EAGAIN unless the bytes are in memory
 *   poller(fd) -> poller   the duplicate in the addon's edge-triggered epoll set, one per response
 *   whenWritable(poller, cb(errno)) -> -1 | errno
 *                          -1: calls back once, from the event loop, when the socket has room (or failed);
 *                          0 or an errno: room came since the last wait, and no call back will come
 *   closePoller(poller)    takes the duplicate out of the set, dropping a wait in flight; before the fd is closed
 *
 * Linux only: elsewhere the module exports `supported: false` and the server copies as before.
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <uv.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#ifdef __linux__
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
#define SUPPORTED 1
#ifndef SYS_cachestat
#define SYS_cachestat 451 /* the same number on every architecture of the generic syscall table */
#endif
struct wsoptv_cachestat_range {
  uint64_t off;
  uint64_t len;
};
struct wsoptv_cachestat {
  uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted;
};
#else
#define SUPPORTED 0
#endif

#define CHECK(call)                                                    \
  do {                                                                 \
    if ((call) != napi_ok) {                                           \
      napi_throw_error(env, NULL, "wsoptv_sendfile: " #call " failed"); \
      return NULL;                                                     \
    }                                                                  \
  } while (0)

static int int_arg(napi_env env, napi_value v, int64_t *out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number) return 0;
  return napi_get_value_int64(env, v, out) == napi_ok;
}

/* Reads the one fd argument of `usage` into *fd; throws a TypeError naming `usage` and returns 0 when it is not one. */
static int one_fd(napi_env env, napi_callback_info info, const char *usage, int64_t *fd) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc >= 1 && int_arg(env, argv[0], fd) && *fd >= 0) return 1;
  napi_throw_type_error(env, NULL, usage);
  return 0;
}

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char code[16];
  snprintf(code, sizeof code, "%d", err);
  napi_throw_error(env, code, what);
  return NULL;
}

#if SUPPORTED
typedef struct {
  napi_async_work work;
  napi_ref cb;
  int out_fd;
  int in_fd;
  int64_t offset;
  int64_t count;
  int64_t sent;
  int err;
} job_t;

/*
 * sendfile(2) until `count` bytes are sent, the file ends or an error (EAGAIN: the socket is full); returns the
 * bytes sent, and the error in *err (0 when none). Both send and sendNow are this loop, on the pool or the loop.
 */
static int64_t send_all(int out_fd, int in_fd, int64_t offset, int64_t count, int *err) {
  off_t off = (off_t)offset;
  int64_t sent = 0;
  *err = 0;
  while (sent < count) {
    size_t want = (size_t)(count - sent);
    ssize_t n = sendfile(out_fd, in_fd, &off, want);
    if (n > 0) {
      sent += n;
      /*
       * Short: the socket filled up, or the file ended. A zero-time poll tells which without sending: not
       * writable means full, and tcp_poll has then marked the socket so that the epoll set hears when room
       * comes, once acknowledgements free a good part of the buffer. Asking sendfile again instead would
       * send the few KiB freed meanwhile, a stream of small sends (and softirq work) for the same bytes.
       */
      if ((size_t)n < want && sent < count) {
        struct pollfd p = {.fd = out_fd, .events = POLLOUT};
        if (poll(&p, 1, 0) == 0) {
          *err = EAGAIN;
          break;
        }
      }
      continue;
    }
    if (n == 0) break; /* the file ended */
    if (errno == EINTR) continue;
    *err = errno;
    break;
  }
  return sent;
}

static void execute(napi_env env, void *data) {
  (void)env;
  job_t *j = data;
  j->sent = send_all(j->out_fd, j->in_fd, j->offset, j->count, &j->err);
}

static void complete(napi_env env, napi_status status, void *data) {
  job_t *j = data;
  if (status == napi_ok) {
    napi_value cb, global, argv[2];
    if (napi_get_reference_value(env, j->cb, &cb) == napi_ok && napi_get_global(env, &global) == napi_ok &&
        napi_create_int32(env, j->err, &argv[0]) == napi_ok && napi_create_int64(env, j->sent, &argv[1]) == napi_ok) {
      napi_call_function(env, global, cb, 2, argv, NULL);
    }
  }
  napi_delete_reference(env, j->cb);
  napi_delete_async_work(env, j->work);
  free(j);
}

static napi_value js_send(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int64_t out_fd, in_fd, offset, count;
  napi_valuetype t = napi_undefined;
  if (argc < 5 || !int_arg(env, argv[0], &out_fd) || !int_arg(env, argv[1], &in_fd) || !int_arg(env, argv[2], &offset) ||
      !int_arg(env, argv[3], &count) || napi_typeof(env, argv[4], &t) != napi_ok || t != napi_function || out_fd < 0 ||
      in_fd < 0 || offset < 0 || count <= 0 || count > 0x7ffff000) {
    napi_throw_type_error(env, NULL, "send(outFd, inFd, offset >= 0, 0 < count <= 2 GiB, callback)");
    return NULL;
  }
  job_t *j = calloc(1, sizeof *j);
  if (!j) return throw_errno(env, "out of memory", ENOMEM);
  j->out_fd = (int)out_fd;
  j->in_fd = (int)in_fd;
  j->offset = offset;
  j->count = count;
  napi_value name;
  if (napi_create_reference(env, argv[4], 1, &j->cb) != napi_ok) {
    free(j);
    napi_throw_error(env, NULL, "wsoptv_sendfile: reference failed");
    return NULL;
  }
  if (napi_create_string_utf8(env, "wsoptv.sendfile", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, execute, complete, j, &j->work) != napi_ok ||
      napi_queue_async_work(env, j->work) != napi_ok) {
    napi_delete_reference(env, j->cb);
    free(j);
    napi_throw_error(env, NULL, "wsoptv_sendfile: queueing failed");
    return NULL;
  }
  return NULL;
}

static napi_value js_send_now(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  int64_t out_fd, in_fd, offset, count;
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  bool is_typed = false;
  if (argc < 5 || !int_arg(env, argv[0], &out_fd) || !int_arg(env, argv[1], &in_fd) || !int_arg(env, argv[2], &offset) ||
      !int_arg(env, argv[3], &count) || napi_is_typedarray(env, argv[4], &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(env, argv[4], &type, &length, &data, NULL, NULL) != napi_ok || type != napi_float64_array ||
      length < 2 || out_fd < 0 || in_fd < 0 || offset < 0 || count <= 0 || count > 0x7ffff000) {
    napi_throw_type_error(env, NULL, "sendNow(outFd, inFd, offset >= 0, 0 < count <= 2 GiB, result: Float64Array(2))");
    return NULL;
  }
  int err;
  double *result = data;
  result[0] = (double)send_all((int)out_fd, (int)in_fd, offset, count, &err);
  result[1] = (double)err;
  return NULL;
}

static napi_value js_cached(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], out;
  int64_t fd, offset, count;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3 || !int_arg(env, argv[0], &fd) || !int_arg(env, argv[1], &offset) || !int_arg(env, argv[2], &count) || fd < 0 ||
      offset < 0 || count <= 0) {
    napi_throw_type_error(env, NULL, "cached(fd, offset >= 0, count > 0)");
    return NULL;
  }
  static long page = 0;
  if (page == 0) page = sysconf(_SC_PAGESIZE);
  struct wsoptv_cachestat_range range = {(uint64_t)offset, (uint64_t)count};
  struct wsoptv_cachestat cs = {0};
  int answer;
  if (syscall(SYS_cachestat, (int)fd, &range, &cs, 0) != 0) answer = -1;
  else {
    uint64_t pages = ((uint64_t)offset + (uint64_t)count + (uint64_t)page - 1) / (uint64_t)page - (uint64_t)offset / (uint64_t)page;
    answer = cs.nr_cache >= pages ? 1 : 0;
  }
  CHECK(napi_create_int32(env, answer, &out));
  return out;
}

static napi_value js_read_now(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], out;
  int64_t fd, offset;
  void *data = NULL;
  size_t len = 0;
  bool is_buffer = false;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3 || !int_arg(env, argv[0], &fd) || napi_is_buffer(env, argv[1], &is_buffer) != napi_ok || !is_buffer ||
      !int_arg(env, argv[2], &offset) || fd < 0 || offset < 0) {
    napi_throw_type_error(env, NULL, "readNow(fd, buffer, offset >= 0)");
    return NULL;
  }
  CHECK(napi_get_buffer_info(env, argv[1], &data, &len));
  struct iovec iov = {data, len};
  ssize_t n;
  do n = preadv2((int)fd, &iov, 1, (off_t)offset, RWF_NOWAIT);
  while (n < 0 && errno == EINTR);
  CHECK(napi_create_int64(env, n >= 0 ? (int64_t)n : -(int64_t)errno, &out));
  return out;
}

/*
 * Waiting for room, as nginx does: one private epoll set holds every body's socket duplicate, edge-triggered
 * (EPOLLOUT | EPOLLET), added once per body and removed once; libuv watches that one epoll fd. A uv_poll per
 * body would add and remove its fd at every wait (two epoll_ctl calls each time the socket fills).
 */
typedef struct poller {
  int fd;
  napi_ref cb;   /* the wait in flight, or NULL */
  int ready;     /* an edge came while nothing waited: the next wait returns at once */
  int ready_err; /* ...and the error it carried */
  int closed;    /* removed from the set */
  int wrapper_gone; /* the JavaScript External was collected */
  struct poller *next_dead;
} poller_t;

static int ep_fd = -1;
static uv_poll_t ep_watch;
static napi_async_context ep_ctx;
static int dispatching = 0;
static poller_t *graveyard = NULL;

static void poller_free(poller_t *w) {
  if (dispatching) {
    w->next_dead = graveyard;
    graveyard = w;
  } else free(w);
}

static void call_back(napi_env env, napi_ref ref, int err) {
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) {
    napi_delete_reference(env, ref);
    return;
  }
  napi_value cb, recv, arg;
  int ok = napi_get_reference_value(env, ref, &cb) == napi_ok && napi_get_global(env, &recv) == napi_ok &&
           napi_create_int32(env, err, &arg) == napi_ok;
  napi_delete_reference(env, ref);
  if (ok) napi_make_callback(env, ep_ctx, recv, cb, 1, &arg, NULL);
  napi_close_handle_scope(env, scope);
}

static void ep_ready(uv_poll_t *p, int status, int events) {
  (void)status;
  (void)events;
  napi_env env = p->data;
  struct epoll_event evs[64];
  int n;
  dispatching = 1;
  do {
    n = epoll_wait(ep_fd, evs, 64, 0);
    for (int i = 0; i < n; i++) {
      poller_t *w = evs[i].data.ptr;
      if (w->closed) continue;
      int err = (evs[i].events & (EPOLLERR | EPOLLHUP)) ? EPIPE : 0;
      if (w->cb) {
        napi_ref ref = w->cb;
        w->cb = NULL;
        call_back(env, ref, err);
      } else {
        w->ready = 1;
        if (err) w->ready_err = err;
      }
    }
  } while (n == 64);
  dispatching = 0;
  while (graveyard) {
    poller_t *w = graveyard;
    graveyard = w->next_dead;
    free(w);
  }
}

static int ensure_ep(napi_env env) {
  if (ep_fd >= 0) return 0;
  uv_loop_t *loop;
  napi_value name;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return EINVAL;
  int fd = epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) return errno;
  int r = uv_poll_init(loop, &ep_watch, fd);
  if (r == 0) {
    ep_watch.data = env;
    r = uv_poll_start(&ep_watch, UV_READABLE, ep_ready);
  }
  if (r != 0) {
    close(fd);
    return -r;
  }
  uv_unref((uv_handle_t *)&ep_watch); /* waits keep nothing alive on their own: their sockets do */
  if (napi_create_string_utf8(env, "wsoptv.whenWritable", NAPI_AUTO_LENGTH, &name) == napi_ok) napi_async_init(env, NULL, name, &ep_ctx);
  ep_fd = fd;
  return 0;
}

static void poller_remove(napi_env env, poller_t *w) {
  if (w->closed) return;
  w->closed = 1;
  epoll_ctl(ep_fd, EPOLL_CTL_DEL, w->fd, NULL);
  if (w->cb) napi_delete_reference(env, w->cb);
  w->cb = NULL;
}

/* The External's finalizer: a poller never closed (a bug elsewhere) leaves the set here. */
static void poller_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  poller_t *w = data;
  poller_remove(env, w);
  poller_free(w);
}

static poller_t *poller_arg(napi_env env, napi_value v) {
  napi_valuetype t;
  void *data = NULL;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external || napi_get_value_external(env, v, &data) != napi_ok) return NULL;
  return data;
}

static napi_value js_poller(napi_env env, napi_callback_info info) {
  napi_value out;
  int64_t fd;
  if (!one_fd(env, info, "poller(fd >= 0)", &fd)) return NULL;
  int r = ensure_ep(env);
  if (r != 0) return throw_errno(env, "epoll set-up failed", r);
  poller_t *w = calloc(1, sizeof *w);
  if (!w) return throw_errno(env, "out of memory", ENOMEM);
  w->fd = (int)fd;
  struct epoll_event ev = {.events = EPOLLOUT | EPOLLET, .data.ptr = w};
  if (epoll_ctl(ep_fd, EPOLL_CTL_ADD, w->fd, &ev) != 0) {
    int e = errno;
    free(w);
    return throw_errno(env, "epoll_ctl failed", e);
  }
  if (napi_create_external(env, w, poller_finalize, NULL, &out) != napi_ok) {
    epoll_ctl(ep_fd, EPOLL_CTL_DEL, w->fd, NULL);
    free(w);
    napi_throw_error(env, NULL, "wsoptv_sendfile: external failed");
    return NULL;
  }
  return out;
}

/* whenWritable(poller, cb) -> -1: waiting, cb will run; >= 0: an edge already came (0, or its errno), cb will not run. */
static napi_value js_when_writable(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], out;
  napi_valuetype t = napi_undefined;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  poller_t *w = argc < 2 ? NULL : poller_arg(env, argv[0]);
  if (!w || w->closed || w->cb != NULL || napi_typeof(env, argv[1], &t) != napi_ok || t != napi_function) {
    napi_throw_type_error(env, NULL, "whenWritable(open poller with no wait in flight, callback)");
    return NULL;
  }
  int answer = -1;
  if (w->ready) {
    answer = w->ready_err;
    w->ready = 0;
    w->ready_err = 0;
  } else CHECK(napi_create_reference(env, argv[1], 1, &w->cb));
  CHECK(napi_create_int32(env, answer, &out));
  return out;
}

static napi_value js_poller_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  poller_t *w = argc < 1 ? NULL : poller_arg(env, argv[0]);
  if (w) poller_remove(env, w); /* freed by the finalizer */
  return NULL;
}

static napi_value js_dup(napi_env env, napi_callback_info info) {
  napi_value out;
  int64_t fd;
  if (!one_fd(env, info, "dup(fd >= 0)", &fd)) return NULL;
  int d = fcntl((int)fd, F_DUPFD_CLOEXEC, 0);
  if (d < 0) return throw_errno(env, "dup failed", errno);
  CHECK(napi_create_int32(env, d, &out));
  return out;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  int64_t fd;
  if (!one_fd(env, info, "close(fd >= 0)", &fd)) return NULL;
  close((int)fd);
  return NULL;
}

static napi_value js_shutdown(napi_env env, napi_callback_info info) {
  int64_t fd;
  if (!one_fd(env, info, "shutdown(fd >= 0)", &fd)) return NULL;
  shutdown((int)fd, SHUT_RDWR);
  return NULL;
}
#endif

static napi_value init(napi_env env, napi_value exports) {
  napi_value v;
  CHECK(napi_get_boolean(env, SUPPORTED, &v));
  CHECK(napi_set_named_property(env, exports, "supported", v));
#if SUPPORTED
  napi_property_descriptor fns[] = {
      {"send", NULL, js_send, NULL, NULL, NULL, napi_enumerable, NULL},
      {"dup", NULL, js_dup, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"shutdown", NULL, js_shutdown, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sendNow", NULL, js_send_now, NULL, NULL, NULL, napi_enumerable, NULL},
      {"cached", NULL, js_cached, NULL, NULL, NULL, napi_enumerable, NULL},
      {"readNow", NULL, js_read_now, NULL, NULL, NULL, napi_enumerable, NULL},
      {"poller", NULL, js_poller, NULL, NULL, NULL, napi_enumerable, NULL},
      {"whenWritable", NULL, js_when_writable, NULL, NULL, NULL, napi_enumerable, NULL},
      {"closePoller", NULL, js_poller_close, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof fns / sizeof fns[0], fns));
#endif
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
