#pragma once
// Items handed from any number of threads to one consumer without a lock: producers push,
// the consumer takes everything pushed so far at once.
#include <atomic>
#include <utility>
#include <vector>

namespace aitools {

template <class T>
class PushList {
 public:
  PushList() = default;
  PushList(const PushList&) = delete;
  PushList& operator=(const PushList&) = delete;
  ~PushList() { take(); }

  // Any thread. True when the list was empty: the caller then wakes the consumer, which takes
  // the list only later, so pushes meanwhile need no wake-up of their own.
  bool push(T item) {
    Node* node = new Node{std::move(item), head_.load(std::memory_order_relaxed)};
    while (!head_.compare_exchange_weak(node->next, node, std::memory_order_release,
                                        std::memory_order_relaxed)) {
    }
    return node->next == nullptr;
  }

  // The consumer: everything pushed so far, newest first.
  std::vector<T> take() {
    std::vector<T> items;
    for (Node* node = head_.exchange(nullptr, std::memory_order_acquire); node;) {
      items.push_back(std::move(node->item));
      Node* next = node->next;
      delete node;
      node = next;
    }
    return items;
  }

 private:
  struct Node {
    T item;
    Node* next;
  };
  std::atomic<Node*> head_{nullptr};
};

}  // namespace aitools
