package org.remask.cli;

import org.remask.engine.Model;
import picocli.CommandLine.IVersionProvider;

/** The version of the Java side and of the native library it loaded. */
final class VersionProvider implements IVersionProvider {
    @Override
    public String[] getVersion() {
        String version = Main.class.getPackage().getImplementationVersion();
        String javaSide = "remask-java " + (version == null ? "dev" : version) + " (Java " + Runtime.version() + ")";
        try {
            return new String[] {javaSide, Model.nativeVersion()};
        } catch (RuntimeException e) {
            return new String[] {javaSide, "native library unavailable: " + e.getMessage()};
        }
    }
}
