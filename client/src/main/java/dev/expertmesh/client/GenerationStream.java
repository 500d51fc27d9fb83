package dev.expertmesh.client;

import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * The deltas of one generation, in order, each waited for as it is read; then {@link #finish()}.
 * Iterable once. Reading past a failure throws {@link ExpertMeshException}; closing the stream
 * before its end cancels the generation.
 */
public final class GenerationStream implements Iterable<GenerationDelta>, Iterator<GenerationDelta>, AutoCloseable {
    private sealed interface Event {
    }

    private record Delta(GenerationDelta delta) implements Event {
    }

    private record Finished(Finish finish) implements Event {
    }

    private record Failed(ExpertMeshException error) implements Event {
    }

    private final BlockingQueue<Event> events = new LinkedBlockingQueue<>();
    private final GenerationHandle handle;
    private GenerationDelta next;
    private Finish finish;
    private ExpertMeshException failure;

    GenerationStream(Coordinators coordinators, io.grpc.CallCredentials credentials, dev.expertmesh.proto.GenerateRequest request,
                     io.grpc.Deadline deadline) {
        this.handle = new GenerateCall(coordinators, credentials, request, deadline, new GenerationListener() {
            @Override
            public void onDelta(GenerationDelta delta) {
                events.add(new Delta(delta));
            }

            @Override
            public void onFinish(Finish finish) {
                events.add(new Finished(finish));
            }

            @Override
            public void onError(ExpertMeshException error) {
                events.add(new Failed(error));
            }
        }).begin();
    }

    @Override
    public Iterator<GenerationDelta> iterator() {
        return this;
    }

    /** Waits for the next delta; false once the generation has finished. */
    @Override
    public boolean hasNext() {
        while (next == null && finish == null) {
            if (failure != null) {
                throw failure;
            }
            switch (take()) {
                case Delta d -> next = d.delta();
                case Finished f -> finish = f.finish();
                case Failed f -> failure = f.error();
            }
        }
        return next != null;
    }

    @Override
    public GenerationDelta next() {
        if (!hasNext()) {
            throw new NoSuchElementException("the generation has finished");
        }
        GenerationDelta delta = next;
        next = null;
        return delta;
    }

    /** How the generation ended: waits for the end, passing over deltas not read yet. */
    public Finish finish() {
        while (hasNext()) {
            next();
        }
        return finish;
    }

    private Event take() {
        try {
            return events.take();
        } catch (InterruptedException e) {
            handle.cancel();
            Thread.currentThread().interrupt();
            throw ExpertMeshException.interrupted(e);
        }
    }

    /** Cancels the generation unless it has ended. */
    @Override
    public void close() {
        if (finish == null && failure == null) {
            handle.cancel();
        }
    }
}
