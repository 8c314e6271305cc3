/* Handoff console: live queue and live conversation on top of the server-rendered pages.
 *
 * Loaded from a static file (the console's CSP allows no inline script); page data comes from
 * data-* attributes. Text from visitors and agents goes into the page with textContent only.
 * Actions go through the HTTP API with the CSRF token; the WebSocket only brings news.
 *
 * Four parts, each an object that the others use only through its public names:
 *   store  client state: the conversation's replay cursor and the message ids already shown,
 *          the queue's requests not yet marked as seen
 *   api    the HTTP calls
 *   live   the WebSocket (connect, reconnect, frames) of each page, catch-up and gap fill
 *          over HTTP, sending messages and typing frames
 *   view   the three pages' DOM (queue, all requests, conversation) and the controls'
 *          handlers; each page's view is an object that `live` draws into
 * `start` at the bottom finds the page and joins its view to its live part.
 */
(function () {
  "use strict";

  /* -------------------------------------------------------------------- store -- */

  var store = (function () {
    // Conversation page: starts from what the server rendered.
    var lastId = 0;
    var delivered = {};

    // Queue page: every request shown so far, and those that arrived since the agent last
    // marked the queue as seen.
    var known = {};
    var fresh = {};

    return {
      resumeConversation: function (cursor, shownIds) {
        lastId = cursor;
        shownIds.forEach(function (id) {
          delivered[id] = true;
        });
      },
      // False for a message already shown; otherwise records it and moves the cursor.
      deliver: function (id) {
        if (delivered[id]) return false;
        delivered[id] = true;
        if (id > lastId) lastId = id;
        return true;
      },
      lastId: function () {
        return lastId;
      },
      newClientId: function () {
        if (window.crypto && crypto.randomUUID) return "c-" + crypto.randomUUID();
        return "c-" + Date.now().toString(36) + Math.random().toString(36).slice(2);
      },

      knowWaiting: function (requestId) {
        known[requestId] = true;
      },
      // True while the request is new to the agent (first seen after the page loaded).
      seeWaiting: function (requestId) {
        if (!known[requestId]) fresh[requestId] = true;
        known[requestId] = true;
        return !!fresh[requestId];
      },
      keepNewAmong: function (requestIds) {
        var waiting = {};
        requestIds.forEach(function (id) {
          waiting[id] = true;
        });
        Object.keys(fresh).forEach(function (id) {
          if (!waiting[id]) delete fresh[id];
        });
      },
      newCount: function () {
        return Object.keys(fresh).length;
      },
      markAllSeen: function () {
        fresh = {};
      },
    };
  })();

  /* ---------------------------------------------------------------------- api -- */

  var api = (function () {
    function csrfToken() {
      var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
      return match ? decodeURIComponent(match[1]) : "";
    }

    function call(method, url, body) {
      var headers = { Accept: "application/json" };
      if (method !== "GET") {
        headers["X-CSRFToken"] = csrfToken();
        headers["Content-Type"] = "application/json";
      }
      return fetch(url, {
        method: method,
        headers: headers,
        credentials: "same-origin",
        body: body === undefined ? undefined : JSON.stringify(body),
      }).then(function (response) {
        return response
          .json()
          .catch(function () {
            return {};
          })
          .then(function (data) {
            if (!response.ok) {
              var error = new Error(data.detail || interpolate(gettext("Request failed (%(status)s)"), { status: response.status }, true));
              error.status = response.status;
              error.data = data;
              throw error;
            }
            return data;
          });
      });
    }

    return {
      // Resolves [pending answer, active answer].
      queue: function (pendingUrl, activeUrl) {
        return Promise.all([call("GET", pendingUrl), call("GET", activeUrl)]);
      },
      request: function (requestUrl) {
        return call("GET", requestUrl);
      },
      act: function (requestUrl, action) {
        return call("POST", requestUrl + "/" + action);
      },
      messagesAfter: function (requestUrl, after) {
        return call("GET", requestUrl + "/messages?after=" + after);
      },
      sendMessage: function (requestUrl, text, clientId) {
        return call("POST", requestUrl + "/messages", { message: text, client_id: clientId });
      },
      // A fresh copy of an HTML page, parsed but never inserted (DOMParser runs no script);
      // null when the server refuses it.
      pageCopy: function (url) {
        return fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
          .then(function (response) {
            return response.ok ? response.text() : null;
          })
          .then(function (text) {
            return text === null ? null : new DOMParser().parseFromString(text, "text/html");
          });
      },
    };
  })();

  /* --------------------------------------------------------------------- live -- */

  var live = (function () {
    var RECONNECT_MIN_MS = 500;
    var RECONNECT_MAX_MS = 15000;
    var GAP_RETRY_MS = 5000;

    function noParams() {
      return {};
    }

    function wsUrl(path, params) {
      var scheme = location.protocol === "https:" ? "wss:" : "ws:";
      var query = new URLSearchParams(params || {}).toString();
      return scheme + "//" + location.host + path + (query ? "?" + query : "");
    }

    /* A WebSocket that reconnects by itself with exponential backoff and jitter.
     * `params()` is called at each attempt, so the `after` cursor is always the latest. */
    function socket(path, params, handlers) {
      var ws = null;
      var attempt = 0;
      var stopped = false;
      var timer = null;

      function connect() {
        if (stopped) return;
        if (navigator.onLine === false) {
          handlers.state("offline");
          schedule(); // the "online" event brings us back at once
          return;
        }
        handlers.state("connecting");
        try {
          ws = new WebSocket(wsUrl(path, params()));
        } catch (e) {
          schedule();
          return;
        }
        ws.onopen = function () {
          attempt = 0;
          handlers.state("live");
          handlers.open();
        };
        ws.onmessage = function (event) {
          var frame;
          try {
            frame = JSON.parse(event.data);
          } catch (e) {
            return;
          }
          handlers.frame(frame);
        };
        ws.onclose = function (event) {
          ws = null;
          handlers.state("offline");
          // 4401/4403/4404: credentials or access are gone; retrying will not help.
          if (event.code === 4401 || event.code === 4403 || event.code === 4404) {
            handlers.refused(event.code);
            return;
          }
          schedule();
        };
      }

      function schedule() {
        if (stopped || timer) return;
        var delay = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * Math.pow(2, attempt));
        attempt += 1;
        timer = setTimeout(function () {
          timer = null;
          connect();
        }, delay / 2 + Math.random() * (delay / 2));
      }

      // The browser knows the network is gone before TCP does: close now, resume on "online".
      window.addEventListener("offline", function () {
        if (!ws) return;
        var old = ws;
        ws = null;
        old.onclose = null;
        old.close();
        handlers.state("offline");
        schedule();
      });
      window.addEventListener("online", function () {
        if (!ws && timer) {
          clearTimeout(timer);
          timer = null;
          attempt = 0;
          connect();
        }
      });
      connect();
      return {
        send: function (frame) {
          if (ws && ws.readyState === WebSocket.OPEN) {
            ws.send(JSON.stringify(frame));
            return true;
          }
          return false;
        },
        stop: function () {
          stopped = true;
          if (ws) ws.close();
        },
      };
    }

    /* ------------------------------------------------------------ queue page -- */

    // Any news re-reads both lists. One refresh at a time; news arriving meanwhile asks
    // for one more.
    function followQueue(settings, page) {
      var refreshing = null;
      var again = false;

      function refresh() {
        if (refreshing) {
          again = true;
          return refreshing;
        }
        refreshing = api
          .queue(settings.pendingUrl, settings.activeUrl)
          .then(function (lists) {
            page.render(lists[0].requests, lists[1].requests);
          })
          .catch(function () {})
          .then(function () {
            refreshing = null;
            if (again) {
              again = false;
              refresh();
            }
          });
        return refreshing;
      }

      socket(settings.wsPath, noParams, {
        state: page.showState,
        open: refresh, // whatever happened while we were away
        frame: function (frame) {
          if (frame.type !== "typing") refresh();
        },
        refused: page.showRefusal,
      });
    }

    /* ---------------------------------------------------- all-requests page -- */

    /* The server rendered this page before the queue socket opened, and a change made in
     * between sends the page no event. There is no "changed since" API to ask, so once the
     * socket is open (every later change arrives as a frame) read the page again and let
     * the view compare the copy with what it shows now. A change that lands between the
     * server rendering the copy and this comparison can offer a reload that was not
     * needed; none can hide one that was. */
    function checkSinceRendered(page) {
      api
        .pageCopy(location.href)
        .then(function (copy) {
          if (copy) page.compareWith(copy);
        })
        .catch(function () {});
    }

    function followList(settings, page) {
      var opened = false;
      socket(settings.wsPath, noParams, {
        state: page.showState,
        open: function () {
          // Events sent while the socket was down are gone: say so rather than guess.
          if (opened) page.offerReload(gettext("The connection dropped; requests may have changed meanwhile."));
          else checkSinceRendered(page);
          opened = true;
        },
        frame: function (frame) {
          if (frame.type === "queue") page.showChange(frame.request, frame.action);
        },
        refused: page.showRefusal,
      });
    }

    /* ----------------------------------------------------- conversation page -- */

    var conversation = null; // {requestUrl, pageSize, page}
    var conversationSocket = null;

    // Every message after `after`, page by page: a contiguous read, so no gap check.
    function readAfter(after) {
      return api.messagesAfter(conversation.requestUrl, after).then(function (data) {
        var messages = data.messages || [];
        messages.forEach(conversation.page.append);
        if (messages.length >= conversation.pageSize) return readAfter(messages[messages.length - 1].id);
      });
    }

    function catchUp() {
      return readAfter(store.lastId()).catch(function () {});
    }

    var gapFrom = null;
    var gapTimer = null;
    function fillGap(from, delay) {
      gapFrom = gapFrom === null ? from : Math.min(gapFrom, from);
      if (gapTimer) return;
      // Debounced: a burst of skipped ids costs one read.
      gapTimer = setTimeout(function () {
        var after = gapFrom;
        gapFrom = null;
        gapTimer = null;
        readAfter(after).catch(function (error) {
          // The cursor is already past the gap, so nothing else would read it: try again.
          if (!error.status || error.status === 429 || error.status >= 500) fillGap(after, GAP_RETRY_MS);
        });
      }, delay || 250);
    }

    /* A message learned outside a contiguous read (a live frame, or the answer to our own
     * HTTP send) moves the replay cursor past every id below it. If it skipped ids, one of
     * them may be a message of this conversation whose broadcast was dropped, and no later
     * ?after= read would look below the cursor again: read the skipped range now. Ids are
     * shared by all requests, so a skip is only a possible gap (docs/decisions.md). */
    function received(m) {
      if (!m || typeof m.id !== "number") return;
      var previous = store.lastId();
      conversation.page.append(m);
      if (m.id > previous + 1) fillGap(previous);
    }

    function refreshRequest() {
      return api
        .request(conversation.requestUrl)
        .then(conversation.page.applyRequest)
        .catch(function () {});
    }

    // Sent over HTTP (the answer is the acknowledgement); retried with the same client_id,
    // so a lost answer never makes a second message.
    function sendMessage(text, clientId, attempt) {
      api
        .sendMessage(conversation.requestUrl, text, clientId)
        .then(received)
        .catch(function (error) {
          if (error.status && error.status < 500 && error.status !== 429) {
            conversation.page.dropPending(clientId);
            conversation.page.showError(error.message);
            return;
          }
          setTimeout(function () {
            sendMessage(text, clientId, attempt + 1);
          }, Math.min(RECONNECT_MAX_MS, 500 * Math.pow(2, attempt)));
        });
    }

    var stopTypingTimer = null;
    var lastTypingSent = 0;
    function sendTyping(isTyping) {
      if (!conversationSocket) return;
      clearTimeout(stopTypingTimer);
      if (isTyping) {
        if (Date.now() - lastTypingSent > 2500) {
          lastTypingSent = Date.now();
          conversationSocket.send({ type: "typing", typing: true });
        }
        stopTypingTimer = setTimeout(function () {
          sendTyping(false);
        }, 4000);
      } else if (lastTypingSent) {
        lastTypingSent = 0;
        conversationSocket.send({ type: "typing", typing: false });
      }
    }

    function onConversationFrame(frame) {
      var page = conversation.page;
      if (frame.type === "history") {
        (frame.messages || []).forEach(page.append);
        if (frame.status && frame.status !== page.status()) refreshRequest();
      } else if (frame.type === "message") {
        received(frame.message);
      } else if (frame.type === "status") {
        page.setStatus(frame.status, frame.agent_name || "");
        refreshRequest();
        catchUp();
      } else if (frame.type === "typing" && frame.sender_type === "user") {
        page.showVisitorTyping(frame.typing);
      } else if (frame.type === "error") {
        page.showError(frame.detail || "");
      }
    }

    function followConversation(settings, page) {
      conversation = { requestUrl: settings.requestUrl, pageSize: settings.pageSize, page: page };
      conversationSocket = socket(
        settings.wsPath,
        function () {
          return { after: String(store.lastId()) };
        },
        {
          state: page.showConnection,
          open: function () {
            // The history frame replays from `after`; the HTTP read covers a server that
            // sent none, and anything a dropped broadcast took away.
            catchUp();
            refreshRequest();
          },
          frame: onConversationFrame,
          refused: page.showRefused,
        }
      );
      // A broadcast the channel layer dropped is not lost: the database has it.
      setInterval(catchUp, 30000);
    }

    return {
      followQueue: followQueue,
      followList: followList,
      followConversation: followConversation,
      catchUp: catchUp,
      refreshRequest: refreshRequest,
      send: function (text, clientId) {
        sendMessage(text, clientId, 0);
      },
      sendTyping: sendTyping,
    };
  })();

  /* --------------------------------------------------------------------- view -- */

  var view = (function () {
    var STATUS_LABELS = {
      pending: gettext("Pending"),
      active: gettext("Active"),
      resolved: gettext("Resolved"),
      closed: gettext("Closed"),
    };

    function el(tag, className, text) {
      var node = document.createElement(tag);
      if (className) node.className = className;
      if (text !== undefined && text !== null) node.textContent = String(text);
      return node;
    }

    /* Times in the page's language (<html lang>, the agent's console language), not the
     * browser's, so a page in Arabic does not show German dates. */
    function pageLocales() {
      var lang = document.documentElement.lang;
      return lang ? [lang] : [];
    }

    /* A stranger's text, isolated: its bidirectional controls ("\u202egnp.exe") cannot
       reorder what is around it, and it takes its own direction. */
    function isolated(tag, className, text) {
      var node = el(tag, className);
      node.dir = "auto";
      node.appendChild(el("bdi", null, text));
      return node;
    }

    function clockTime(iso) {
      var date = new Date(iso);
      if (isNaN(date.getTime())) return "";
      return date.toLocaleTimeString(pageLocales(), { hour: "2-digit", minute: "2-digit" });
    }

    function fullTime(iso) {
      var date = new Date(iso);
      if (isNaN(date.getTime())) return "";
      return date.toLocaleString(pageLocales(), { dateStyle: "medium", timeStyle: "medium" });
    }

    function waitingFor(iso) {
      var seconds = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
      if (seconds < 60) return gettext("less than a minute");
      var minutes = Math.floor(seconds / 60);
      if (minutes < 60) {
        return interpolate(ngettext("%(n)s minute", "%(n)s minutes", minutes), { n: minutes }, true);
      }
      var hours = Math.floor(minutes / 60);
      var rest = minutes % 60;
      var hoursText = interpolate(ngettext("%(n)s hour", "%(n)s hours", hours), { n: hours }, true);
      if (!rest) return hoursText;
      return interpolate(gettext("%(hours)s, %(minutes)s min"), { hours: hoursText, minutes: rest }, true);
    }

    /* The queue socket's state, shown the same way on the queue and the All pages. */
    function showLiveState(liveState) {
      return function (state) {
        liveState.dataset.state = state;
        liveState.textContent =
          state === "live" ? gettext("Live") : state === "connecting" ? gettext("Connecting…") : gettext("Offline, reconnecting…");
      };
    }

    // 4401: logged out; 4403: access changed (a chatbot removed). The page itself knows the
    // new state, and sends a logged-out agent to the login.
    function showRefusal(liveState) {
      return function (code) {
        liveState.dataset.state = "offline";
        liveState.textContent =
          code === 4401 ? gettext("Logged out: reload to log in again.") : gettext("Your access changed: reload the page.");
      };
    }

    /* ------------------------------------------------------------ queue page -- */

    function queuePage(root) {
      var pendingRows = document.getElementById("pending-rows");
      var activeRows = document.getElementById("active-rows");
      var badge = document.getElementById("new-badge");
      var liveState = document.getElementById("live-state");
      var baseTitle = root.dataset.baseTitle;
      var requestUrl = root.dataset.requestUrl;

      Array.prototype.forEach.call(pendingRows.querySelectorAll("tr[data-request-id]"), function (row) {
        store.knowWaiting(row.dataset.requestId);
      });

      function linkTo(r) {
        var link = el("a", null, r.user_name || gettext("Visitor"));
        link.href = requestUrl.replace("REQUEST_ID", encodeURIComponent(r.request_id));
        return link;
      }

      function row(r, lastCell) {
        var tr = el("tr");
        tr.dataset.requestId = r.request_id;
        var who = el("td");
        who.appendChild(linkTo(r));
        if (r.user_email) who.appendChild(el("div", "muted", r.user_email));
        tr.appendChild(who);
        tr.appendChild(el("td", null, r.chatbot.name));
        var first = r.initial_message || "";
        tr.appendChild(isolated("td", "excerpt", first.length > 120 ? first.slice(0, 119) + "…" : first));
        tr.appendChild(lastCell);
        return tr;
      }

      function waitingCell(r) {
        var td = el("td");
        var time = el("time", "waiting", waitingFor(r.created_at));
        time.setAttribute("datetime", r.created_at);
        td.appendChild(time);
        return td;
      }

      function render(pending, active) {
        pendingRows.replaceChildren();
        pending.forEach(function (r) {
          var isNew = store.seeWaiting(r.request_id);
          var tr = row(r, waitingCell(r));
          if (isNew) tr.classList.add("is-new");
          pendingRows.appendChild(tr);
        });
        activeRows.replaceChildren();
        active.forEach(function (r) {
          activeRows.appendChild(row(r, el("td", null, r.agent_name || "")));
        });
        store.keepNewAmong(
          pending.map(function (r) {
            return r.request_id;
          })
        );
        document.getElementById("pending-count").textContent = String(pending.length);
        document.getElementById("active-count").textContent = String(active.length);
        document.getElementById("pending-empty").hidden = pending.length > 0;
        document.getElementById("active-empty").hidden = active.length > 0;
        showCounts(pending.length);
      }

      function showCounts(pendingCount) {
        var newCount = store.newCount();
        badge.hidden = newCount === 0;
        badge.textContent = interpolate(ngettext("%(n)s new request", "%(n)s new requests", newCount), { n: newCount }, true);
        document.title = (pendingCount ? "(" + pendingCount + ") " : "") + baseTitle;
      }

      badge.addEventListener("click", function () {
        store.markAllSeen();
        Array.prototype.forEach.call(pendingRows.querySelectorAll("tr.is-new"), function (tr) {
          tr.classList.remove("is-new");
        });
        showCounts(pendingRows.children.length);
      });

      setInterval(function () {
        Array.prototype.forEach.call(root.querySelectorAll("time.waiting"), function (time) {
          time.textContent = waitingFor(time.getAttribute("datetime"));
        });
      }, 15000);

      showCounts(pendingRows.children.length);
      return {
        render: render,
        showState: showLiveState(liveState),
        showRefusal: showRefusal(liveState),
      };
    }

    /* ---------------------------------------------------- all-requests page -- */

    /* The filtered, paginated list, live: rows on the page follow their request's status
     * and agent; a new request that belongs at the top of this page appears there; one that
     * lands elsewhere (a later page) or news missed while offline offers a reload. */
    function listPage(root) {
      var rows = document.querySelector("#all-requests tbody");
      var liveState = document.getElementById("live-state");
      var news = document.getElementById("list-news");
      var newsText = document.getElementById("list-news-text");
      var count = document.getElementById("all-count");
      var requestUrl = root.dataset.requestUrl;
      var page = Number(root.dataset.page || "1");
      var wantedStatus = root.dataset.status || "";
      var query = (root.dataset.query || "").trim().toLowerCase();
      var wantedChatbot = "";
      Array.prototype.forEach.call(document.querySelectorAll("#filter-chatbot option[data-key]"), function (option) {
        if (option.defaultSelected) wantedChatbot = option.dataset.key;
      });
      var missed = 0;

      function matches(r) {
        if (wantedStatus && r.status !== wantedStatus) return false;
        if (wantedChatbot && r.chatbot.key !== wantedChatbot) return false;
        if (!query) return true;
        if (r.request_id === root.dataset.query.trim()) return true;
        // Off while encryption at rest is on: the server then finds request ids only.
        if (root.dataset.textSearch === "off") return false;
        return [r.user_name, r.user_email, r.initial_message].some(function (field) {
          return (field || "").toLowerCase().indexOf(query) !== -1;
        });
      }

      function statusBadge(status) {
        return el("span", "status status-" + status, STATUS_LABELS[status] || status);
      }

      function newRow(r) {
        var tr = el("tr", "is-new");
        tr.dataset.requestId = r.request_id;
        var who = el("td");
        var link = el("a", null, r.user_name || gettext("Visitor"));
        link.href = requestUrl.replace("REQUEST_ID", encodeURIComponent(r.request_id));
        who.appendChild(link);
        if (r.user_email) who.appendChild(el("div", "muted", r.user_email));
        tr.appendChild(who);
        tr.appendChild(el("td", null, r.chatbot.name));
        var statusCell = el("td");
        statusCell.appendChild(statusBadge(r.status));
        tr.appendChild(statusCell);
        var first = r.initial_message || "";
        tr.appendChild(isolated("td", "excerpt", first.length > 100 ? first.slice(0, 99) + "…" : first));
        tr.appendChild(el("td", "agent", r.agent_name || ""));
        var created = el("td");
        var time = el("time", null, fullTime(r.created_at));
        time.setAttribute("datetime", r.created_at);
        created.appendChild(time);
        tr.appendChild(created);
        return tr;
      }

      function offerReload(text) {
        newsText.textContent = text;
        news.hidden = false;
      }

      // What the list shows: each row's request, status and agent, and the total.
      function signature(doc) {
        var parts = Array.prototype.map.call(doc.querySelectorAll("#all-requests tbody tr[data-request-id]"), function (tr) {
          var status = tr.querySelector(".status");
          var agent = tr.querySelector("td.agent");
          return [
            tr.dataset.requestId,
            status ? status.className : "",
            agent ? agent.textContent.trim() : "",
          ].join(" ");
        });
        var total = doc.getElementById("all-count");
        parts.push(total ? total.textContent.trim() : "");
        return parts.join("\n");
      }

      // A fresh copy of this page: other rows, statuses, agents or total than this page
      // shows now offer the reload.
      function compareWith(copy) {
        if (!copy.getElementById("all-requests")) return; // not the list (a login page)
        if (signature(copy) !== signature(document) && news.hidden) {
          offerReload(gettext("Requests changed while the page was loading."));
        }
      }

      function showChange(r, action) {
        if (!r) return;
        var existing = rows.querySelector('tr[data-request-id="' + CSS.escape(r.request_id) + '"]');
        if (existing) {
          var statusCell = existing.querySelector(".status");
          if (statusCell) statusCell.replaceWith(statusBadge(r.status));
          var agentCell = existing.querySelector("td.agent");
          if (agentCell) agentCell.textContent = r.agent_name || "";
          existing.classList.add("is-new");
          return;
        }
        if (action !== "created" || !matches(r)) return;
        if (page === 1) {
          var empty = document.getElementById("all-empty");
          if (empty) empty.remove();
          rows.insertBefore(newRow(r), rows.firstChild);
          count.textContent = String(Number(count.textContent) + 1);
        } else {
          missed += 1;
          offerReload(
            interpolate(
              ngettext("%(n)s new request on the first page.", "%(n)s new requests on the first page.", missed),
              { n: missed },
              true
            )
          );
        }
      }

      return {
        showChange: showChange,
        offerReload: offerReload,
        compareWith: compareWith,
        showState: showLiveState(liveState),
        showRefusal: showRefusal(liveState),
      };
    }

    /* ----------------------------------------------------- conversation page -- */

    function conversationPage(root) {
      var requestUrl = root.dataset.api;
      var me = root.dataset.me;
      var visitorName = root.dataset.visitorName;
      var thread = document.getElementById("thread");
      var typing = document.getElementById("typing-indicator");
      var statusLine = document.getElementById("status-line");
      var statusBadge = document.getElementById("status-badge");
      var connection = document.getElementById("connection-state");
      var actionError = document.getElementById("action-error");
      var form = document.getElementById("message-form");
      var input = document.getElementById("message-input");
      var typingTimer = null;

      store.resumeConversation(
        parseInt(root.dataset.lastId, 10) || 0,
        Array.prototype.map.call(thread.querySelectorAll("li[data-id]"), function (li) {
          return li.dataset.id;
        })
      );
      Array.prototype.forEach.call(root.querySelectorAll(".line time[datetime]"), function (time) {
        time.textContent = clockTime(time.getAttribute("datetime"));
      });
      Array.prototype.forEach.call(root.querySelectorAll(".request-meta time[datetime]"), function (time) {
        time.textContent = fullTime(time.getAttribute("datetime"));
      });

      function statusText(status, holder) {
        if (status === "pending") return gettext("Waiting for an agent");
        if (status === "active") {
          return holder && holder !== me
            ? interpolate(gettext("%(name)s has it"), { name: holder }, true)
            : gettext("You joined");
        }
        if (status === "resolved") return gettext("Resolved");
        return gettext("Closed");
      }

      function setStatus(status, holder) {
        if (holder !== undefined && holder !== null) root.dataset.holder = holder;
        root.dataset.status = status;
        statusBadge.textContent = STATUS_LABELS[status] || status;
        statusLine.textContent = statusText(status, root.dataset.holder);
        if (status === "closed") typing.hidden = true;
      }

      function setTime(id, iso) {
        var dd = document.getElementById(id);
        if (!dd) return;
        if (!iso) {
          dd.textContent = "—";
          return;
        }
        var time = el("time", null, fullTime(iso));
        time.setAttribute("datetime", iso);
        dd.replaceChildren(time);
      }

      function applyRequest(data) {
        setStatus(data.status, data.agent_name || "");
        setTime("joined-at", data.admin_joined_at);
        setTime("first-response-at", data.first_response_at);
        setTime("resolved-at", data.resolved_at);
        setTime("closed-at", data.closed_at);
      }

      function senderName(m) {
        if (m.sender_type === "system") return gettext("System");
        return m.sender_name || (m.sender_type === "user" ? visitorName : gettext("Agent"));
      }

      function pendingLine(clientId) {
        return thread.querySelector('li.is-pending[data-client-id="' + CSS.escape(clientId) + '"]');
      }

      function append(m) {
        if (!store.deliver(m.id)) return;
        if (m.client_id) {
          var pending = pendingLine(m.client_id);
          if (pending) pending.remove();
        }
        var li = el("li", "line sender-" + m.sender_type);
        li.dataset.id = m.id;
        li.appendChild(el("span", "who", senderName(m)));
        li.appendChild(document.createTextNode(" "));
        var time = el("time", null, clockTime(m.created_at));
        time.setAttribute("datetime", m.created_at);
        li.appendChild(time);
        li.appendChild(isolated("p", "text", m.text));
        // Keep id order even if a replayed message arrives after a newer live one.
        var after = null;
        Array.prototype.some.call(thread.querySelectorAll("li[data-id]"), function (other) {
          if (parseInt(other.dataset.id, 10) > m.id) {
            after = other;
            return true;
          }
          return false;
        });
        thread.insertBefore(li, after || thread.querySelector("li.is-pending"));
        if (m.sender_type === "user") typing.hidden = true;
        thread.scrollTop = thread.scrollHeight;
      }

      // Refused for good: the line that said "sending" goes.
      function dropPending(clientId) {
        var pending = pendingLine(clientId);
        if (pending) pending.remove();
      }

      function showError(text) {
        actionError.textContent = text;
        actionError.hidden = !text;
      }

      function showVisitorTyping(isTyping) {
        clearTimeout(typingTimer);
        typing.hidden = !isTyping || root.dataset.status === "closed";
        if (isTyping) {
          typingTimer = setTimeout(function () {
            typing.hidden = true;
          }, 6000);
        }
      }

      function showConnection(state) {
        connection.dataset.state = state;
        connection.textContent =
          state === "live" ? gettext("Live") : state === "connecting" ? gettext("Connecting…") : gettext("Offline, reconnecting…");
      }

      function showRefused() {
        connection.textContent = gettext("This conversation is no longer available to you.");
      }

      Array.prototype.forEach.call(root.querySelectorAll(".request-actions form"), function (actionForm) {
        actionForm.addEventListener("submit", function (event) {
          event.preventDefault();
          var button = actionForm.querySelector("button");
          button.disabled = true;
          showError("");
          api
            .act(requestUrl, actionForm.dataset.action)
            .then(applyRequest)
            .catch(function (error) {
              showError(error.message);
              return live.refreshRequest();
            })
            .then(function () {
              button.disabled = false;
              return live.catchUp();
            });
        });
      });

      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var text = input.value.trim();
        if (!text) return;
        var clientId = store.newClientId();
        var li = el("li", "line sender-admin is-pending");
        li.dataset.clientId = clientId;
        li.appendChild(el("span", "who", me));
        li.appendChild(isolated("p", "text", text));
        thread.appendChild(li);
        input.value = "";
        showError("");
        live.sendTyping(false);
        live.send(text, clientId);
      });

      input.addEventListener("keydown", function (event) {
        if (event.key === "Enter" && !event.shiftKey) {
          event.preventDefault();
          form.requestSubmit();
        }
      });

      input.addEventListener("input", function () {
        live.sendTyping(input.value.length > 0);
      });

      return {
        append: append,
        status: function () {
          return root.dataset.status;
        },
        setStatus: setStatus,
        applyRequest: applyRequest,
        dropPending: dropPending,
        showError: showError,
        showVisitorTyping: showVisitorTyping,
        showConnection: showConnection,
        showRefused: showRefused,
      };
    }

    return {
      queuePage: queuePage,
      listPage: listPage,
      conversationPage: conversationPage,
    };
  })();

  /* -------------------------------------------------------------------- start -- */

  function start() {
    var queue = document.getElementById("console-queue");
    if (queue) {
      live.followQueue(
        { wsPath: queue.dataset.wsPath, pendingUrl: queue.dataset.pendingUrl, activeUrl: queue.dataset.activeUrl },
        view.queuePage(queue)
      );
    }
    var all = document.getElementById("console-all");
    if (all) live.followList({ wsPath: all.dataset.wsPath }, view.listPage(all));
    var conversation = document.getElementById("console-request");
    if (conversation) {
      live.followConversation(
        {
          wsPath: conversation.dataset.wsPath,
          requestUrl: conversation.dataset.api,
          // The server's MESSAGE_PAGE_SIZE: a full page may have more behind it.
          pageSize: parseInt(conversation.dataset.messagePageSize, 10),
        },
        view.conversationPage(conversation)
      );
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
