// Syntax check for pipeline scripts: parses (does not run) each file given, exits 1 on the first error.
// Knows nothing of pipeline steps; the JenkinsPipelineUnit tests cover behaviour.
import org.codehaus.groovy.control.CompilationFailedException

int failures = 0
args.each { String path ->
  try {
    new GroovyShell().parse(new File(path))
    println "ok: ${path}"
  } catch (CompilationFailedException e) {
    System.err.println "syntax error in ${path}: ${e.message}"
    failures++
  }
}
System.exit(failures == 0 ? 0 : 1)
