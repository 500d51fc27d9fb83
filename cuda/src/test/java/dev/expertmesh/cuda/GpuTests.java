package dev.expertmesh.cuda;

import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TagFilter;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

import java.io.PrintWriter;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectPackage;
import static org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder.request;

/**
 * Runs every test tagged gpu under dev.expertmesh (or under the package given as the argument), for
 * the GPU machine, which has Java (carried there) but no Maven: see gpu-check.sh; and for
 * {@link EmulatedGpu}. Exits 1 when a test fails or none ran.
 */
public final class GpuTests {
    private GpuTests() {
    }

    /** A test skipped by an assumption (no driver, no device) says why: a GPU check that ran nothing must show it. */
    private static final class AbortReasons implements TestExecutionListener {
        @Override
        public void executionFinished(TestIdentifier test, TestExecutionResult result) {
            if (result.getStatus() == TestExecutionResult.Status.ABORTED) {
                System.out.println("aborted: " + test.getDisplayName() + ": "
                        + result.getThrowable().map(Throwable::getMessage).orElse("no reason given"));
            }
        }
    }

    public static void main(String[] args) {
        LauncherDiscoveryRequest request = request().selectors(selectPackage(args.length > 0 ? args[0] : "dev.expertmesh"))
                .filters(TagFilter.includeTags("gpu")).build();
        Launcher launcher = LauncherFactory.create();
        SummaryGeneratingListener listener = new SummaryGeneratingListener();
        launcher.execute(request, listener, new AbortReasons());
        TestExecutionSummary summary = listener.getSummary();
        PrintWriter out = new PrintWriter(System.out, true);
        summary.printFailuresTo(out, 30);
        summary.printTo(out);
        System.exit(summary.getTotalFailureCount() == 0 && summary.getTestsSucceededCount() > 0 ? 0 : 1);
    }
}
