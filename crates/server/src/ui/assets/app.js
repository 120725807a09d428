// Signalbox admin UI: copy buttons, and the live view of a signal endpoint (Server-Sent
// Events from /ui/signal-endpoints/{id}/stream; the server resumes after the newest signal
// the page was rendered with, and EventSource resumes with Last-Event-ID after a drop).
"use strict";

document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.querySelector(button.dataset.copy);
  if (source && navigator.clipboard) {
    navigator.clipboard.writeText(source.textContent).then(() => {
      button.dataset.label = button.dataset.label || button.textContent;
      button.textContent = "Copied";
      setTimeout(() => { button.textContent = button.dataset.label; }, 1500);
    });
  }
});

function renderSignal(signal) {
  const article = document.createElement("article");
  article.className = "signal";
  article.dataset.seq = signal.seq;
  const header = document.createElement("header");
  const token = document.createElement("span");
  token.className = "token";
  token.textContent = signal.token_name;
  const time = document.createElement("time");
  time.dateTime = signal.received_at;
  time.textContent = signal.received_at;
  header.append(token, " ", time);
  const pre = document.createElement("pre");
  pre.className = "json";
  pre.textContent = JSON.stringify(signal.payload, null, 2);
  article.append(header, pre);
  return article;
}

function startLiveView(section) {
  const list = document.getElementById("live-signals");
  const pause = document.getElementById("live-pause");
  const state = document.getElementById("live-state");
  let paused = false;
  let held = [];
  const show = (signal) => {
    document.getElementById("no-signals")?.remove();
    list.prepend(renderSignal(signal));
  };
  const source = new EventSource(section.dataset.stream);
  source.addEventListener("open", () => { state.textContent = paused ? "Paused" : "Live"; });
  source.addEventListener("error", () => { state.textContent = "Reconnecting…"; });
  source.addEventListener("signal", (event) => {
    const signal = JSON.parse(event.data);
    if (paused) {
      held.push(signal);
      state.textContent = `Paused: ${held.length} new`;
    } else {
      show(signal);
    }
  });
  pause.addEventListener("click", () => {
    paused = !paused;
    pause.textContent = paused ? "Resume" : "Pause";
    pause.setAttribute("aria-pressed", String(paused));
    if (!paused) {
      held.forEach(show);
      held = [];
    }
    state.textContent = paused ? "Paused" : "Live";
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const live = document.getElementById("live");
  if (live && live.dataset.stream) startLiveView(live);
});
