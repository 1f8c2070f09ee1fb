// The live feed: listen to the server-sent events of /feed and list new posts.
// EventSource reconnects by itself and resumes from the last event id.
(function () {
  "use strict";
  var list = document.getElementById("live-feed");
  if (!list || !window.EventSource) return;
  var source = new EventSource(list.dataset.src);
  source.addEventListener("open", function () {
    list.dataset.state = "open";
  });
  source.addEventListener("post", function (event) {
    var post = JSON.parse(event.data);
    var item = document.createElement("li");
    item.className = "live-post";
    // textContent, never innerHTML: titles are user input.
    item.textContent = post.title + " — by " + post.author;
    list.insertBefore(item, list.firstChild);
  });
})();
