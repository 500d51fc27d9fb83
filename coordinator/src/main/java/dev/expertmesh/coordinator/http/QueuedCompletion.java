package dev.expertmesh.coordinator.http;

import dev.expertmesh.coordinator.serving.Completion;
import dev.expertmesh.coordinator.serving.CompletionDelta;
import dev.expertmesh.coordinator.serving.CompletionListener;

import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * Hands a generation's events from the scheduler's thread, which must not block, to the request's
 * own thread, which writes them to a socket that may.
 */
final class QueuedCompletion implements CompletionListener {

    sealed interface Event {
    }

    record Delta(CompletionDelta delta) implements Event {
    }

    record Finished(Completion completion) implements Event {
    }

    record Failed(RuntimeException cause) implements Event {
    }

    private final BlockingQueue<Event> events = new LinkedBlockingQueue<>();

    @Override
    public void delta(CompletionDelta delta) {
        events.add(new Delta(delta));
    }

    @Override
    public void finished(Completion completion) {
        events.add(new Finished(completion));
    }

    @Override
    public void failed(RuntimeException cause) {
        events.add(new Failed(cause));
    }

    /** The next event, waiting for it. */
    Event next() throws InterruptedException {
        return events.take();
    }
}
