package gantry

import static org.junit.Assert.fail

import com.lesfurets.jenkins.unit.BasePipelineTest

/**
 * Loads a pipeline script under JenkinsPipelineUnit with every step it uses mocked, and records an ordered
 * event log ("sh:gantry build", "input", "milestone:100", "lock:<name>", "writeFile:approval.json", ...), each
 * event with the stage it happened in.
 *
 * The mocks behave like the Jenkins steps they stand for, as far as the tests rely on them:
 *  - sh records the command as written and as the shell would expand it ($VAR, "${VAR:-default}") from the
 *    build's environment (build parameters, then env assignments), so a test can see what a command received;
 *  - input (pipeline-input-step's InputStepExecution): with a submitter list, only a listed user ID or a member
 *    of a listed group may answer (IDs compared ignoring case, entries trimmed); without one, anyone holding
 *    Job/Build may. Someone not allowed cannot answer, so the input waits until its timeout aborts the build.
 *    An answer returns, as Jenkins does, null without values, the single value when there is one, else a map of
 *    parameter values plus the submitterParameter; 'proceedEmpty' (the REST call without parameters) returns null;
 *  - timeout, lock, dir, milestone, writeFile record what they were given and run their body;
 *  - node(label) runs its body on that agent label; withCredentials binds the credentials it names for its
 *    body only (file credentials become their variable in the environment, as the binding plugin does).
 * Every shell step records the agent label it ran on (null: no agent) and the credentials bound around it.
 *
 * Tests steer the mocks: `answer` ('approve', 'reject', 'timeout', 'proceedEmpty'), `approvingUser` who answers,
 * `pasted` the values typed into the input's parameters, `failOn` a gantry subcommand that exits non-zero,
 * `outputs` the stdout of commands run with returnStdout.
 */
abstract class PipelineHarness extends BasePipelineTest {
  // Jenkins group membership as LDAP and the role strategy (jenkins/casc/jenkins.yaml) would resolve it.
  static final Map<String, List<String>> GROUPS = [
    'alice@example.com': ['approvers'], 'bob@example.com': ['approvers', 'developers'],
    'mallory@example.com': ['developers'],
  ]
  // Groups whose role grants Job/Build (casc: the developer role); approvers deliberately have none.
  static final List<String> JOB_BUILD_GROUPS = ['developers']

  List<String> events = []
  List<String> eventStages = []
  List<Map> shells = []
  List<Map> inputs = []
  List<Map> timeouts = []
  Map<String, String> files = [:]
  Map<String, Object> env = new EnvMap()
  Map<String, Object> params = [:]
  Map<String, Object> currentBuild = [:]
  Map<String, String> outputs = [:]
  DeclarativeRunner runner
  String answer = 'approve'
  String approvingUser = 'alice@example.com'
  Map<String, String> pasted = [:]
  String failOn = null
  protected List<Map> openTimeouts = []
  protected List<String> dirs = []
  protected List<String> bound = []  // credential ids bound now, innermost last
  protected Script loadedScript

  /** The pipeline script under test. */
  abstract File pipelineFile()

  @Override
  void setUp() throws Exception {
    File script = pipelineFile().canonicalFile
    if (!script.isFile()) {
      throw new FileNotFoundException("no pipeline script at ${script}")
    }
    baseScriptRoot = ''
    scriptRoots = [script.parentFile.path] as String[]
    scriptExtension = ''
    super.setUp()
    env.putAll(BUILD_TAG: 'jenkins-example-pipeline-42', BUILD_URL: 'https://jenkins.invalid/job/x/42/')
    binding.setVariable('env', env)
    binding.setVariable('params', params)
    binding.setVariable('currentBuild', currentBuild)
    binding.setVariable('scm', [type: 'git'])
    binding.setVariable('BUILD_TAG', env.BUILD_TAG)
    registerSteps()
  }

  protected void registerSteps() {
    helper.registerAllowedMethod('pipeline', [Closure], { Closure body ->
      runner = new DeclarativeRunner(script: loadedScript)
      runner.run(body)
    })
    helper.registerAllowedMethod('sh', [String], { String command -> shell(command, false) })
    helper.registerAllowedMethod('sh', [Map], { Map args ->
      shell(args.script as String, args.returnStdout as boolean)
    })
    helper.registerAllowedMethod('echo', [String], { String message -> record("echo:${message}") })
    helper.registerAllowedMethod('checkout', [Map], { Map scm -> record('checkout') })
    helper.registerAllowedMethod('git', [Map], { Map args -> record("git:${args.url}@${args.branch}") })
    helper.registerAllowedMethod('archiveArtifacts', [Map], { Map args -> record("archive:${args.artifacts}") })
    helper.registerAllowedMethod('error', [String], { String message -> throw new IllegalStateException(message) })
    helper.registerAllowedMethod('script', [Closure], { Closure body -> body.call() })
    helper.registerAllowedMethod('milestone', [Map], { Map args -> record("milestone:${args.ordinal}") })
    helper.registerAllowedMethod('writeFile', [Map], { Map args ->
      files[args.file as String] = args.text as String
      record("writeFile:${args.file}")
    })
    helper.registerAllowedMethod('text', [Map], { Map args -> [kind: 'text'] + args })
    helper.registerAllowedMethod('dir', [String, Closure], { String path, Closure body ->
      record("dir:${path}")
      dirs << path
      try {
        body.call()
      } finally {
        dirs.remove(dirs.size() - 1)
      }
    })
    helper.registerAllowedMethod('lock', [Map, Closure], { Map args, Closure body ->
      record("lock:${args.resource}")
      try {
        body.call()
      } finally {
        record("unlock:${args.resource}")
      }
    })
    helper.registerAllowedMethod('timeout', [Map, Closure], { Map args, Closure body ->
      timeouts << args
      openTimeouts << args
      try {
        body.call()
      } finally {
        openTimeouts.remove(openTimeouts.size() - 1)
      }
    })
    helper.registerAllowedMethod('input', [Map], { Map args -> awaitInput(args) })
    helper.registerAllowedMethod('file', [Map], { Map args -> [kind: 'file'] + args })
    helper.registerAllowedMethod('withCredentials', [List, Closure], { List bindings, Closure body ->
      List<String> ids = bindings.collect { (it as Map).credentialsId as String }
      record("withCredentials:${ids.join(',')}")
      Map<String, Object> saved = [:]
      bindings.each { Map binding ->
        saved[binding.variable as String] = env[binding.variable as String]
        env[binding.variable as String] = "/run/credentials/${binding.credentialsId}"
      }
      bound.addAll(ids)
      try {
        body.call()
      } finally {
        ids.each { bound.remove(bound.size() - 1) }
        saved.each { key, value -> value == 'null' || value == null ? env.remove(key) : env.put(key, value) }
      }
    })
    helper.registerAllowedMethod('node', [String, Closure], { String label, Closure body ->
      record("node:${label}")
      runner.agents << label
      try {
        body.call()
      } finally {
        runner.agents.remove(runner.agents.size() - 1)
      }
    })
  }

  void runPipeline() {
    loadedScript = loadScript(pipelineFile().canonicalFile.name)
    runScript(loadedScript)
  }

  protected void record(Object event) {
    events << event.toString()
    eventStages << (env.STAGE_NAME as String)
  }

  protected Object shell(String command, boolean returnStdout) {
    record("sh:${command}")
    shells << [command: command, expanded: expand(command), stage: env.STAGE_NAME, dir: dirs ? dirs.join('/') : '.',
               agent: runner.currentAgent(), credentials: new ArrayList<String>(bound)]
    if (failOn != null && command.startsWith("gantry ${failOn}")) {
      throw new RuntimeException("script returned exit code 1: ${command}")
    }
    if (!returnStdout) {
      return null
    }
    if (!outputs.containsKey(command)) {
      throw new IllegalStateException("no stub output for '${command}'")
    }
    return outputs[command] + '\n'  // a command's stdout ends with a newline, as gantry's click.echo does
  }

  /** $NAME, ${NAME} and ${NAME:-default} expanded as the shell would, from the step's environment. */
  String expand(String command) {
    Map<String, Object> environment = [:]
    params.each { key, value -> environment[key] = String.valueOf(value) }
    environment.putAll(env)
    String variable = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/
    return command.replaceAll(variable) { all, braced, fallback, bare ->
      String name = braced ?: bare
      String value = environment[name] as String
      return value ? value : (fallback ?: '')
    }
  }

  protected boolean mayAnswer(String user, String submitter) {
    List<String> groups = GROUPS[user] ?: []
    if (submitter == null) {
      return groups.any { it in JOB_BUILD_GROUPS }
    }
    return submitter.split(',').collect { it.trim() }.any { String allowed ->
      allowed.equalsIgnoreCase(user) || groups.any { it.equalsIgnoreCase(allowed) }
    }
  }

  protected Object awaitInput(Map args) {
    inputs << (args + [timeout: openTimeouts ? openTimeouts.last() : null])
    record('input')
    if (answer == 'reject') {
      throw new AbortedException("Rejected by ${approvingUser}")
    }
    if (answer == 'timeout' || !mayAnswer(approvingUser, args.submitter as String)) {
      if (!openTimeouts) {
        throw new IllegalStateException('input waited forever: it is not inside a timeout')
      }
      throw new AbortedException('Timeout has been exceeded')
    }
    if (answer == 'proceedEmpty') {
      return null
    }
    Map<String, Object> values = [:]
    (args.parameters ?: []).each { Map parameter ->
      String name = parameter.name as String
      values[name] = pasted.containsKey(name) ? pasted[name] : parameter.defaultValue
    }
    if (args.submitterParameter) {
      values[args.submitterParameter as String] = approvingUser
    }
    if (values.isEmpty()) {
      return null
    }
    return values.size() == 1 ? values.values().first() : values
  }

  List<String> shellCommands() {
    return shells.collect { it.command as String }
  }

  List<String> stageEvents(String stage) {
    return (0..<events.size()).findAll { eventStages[it] == stage }.collect { events[it] }
  }

  /** Index of the one event equal to `event`; fails when it is missing or happens more than once. */
  int indexOfOnly(String event) {
    List<Integer> found = (0..<events.size()).findAll { events[it] == event }
    if (found.size() != 1) {
      fail("expected exactly one '${event}' event, found ${found.size()} in ${events}")
    }
    return found[0]
  }

  /** Index of the first event matching `predicate`; fails when none does, so an ordering check never passes
   *  because a step is missing. */
  int indexOfFirst(String what, Closure<Boolean> predicate) {
    int index = events.findIndexOf(predicate)
    if (index < 0) {
      fail("no ${what} in ${events}")
    }
    return index
  }

  Map shellOnly(String command) {
    List<Map> found = shells.findAll { it.command == command }
    if (found.size() != 1) {
      fail("expected '${command}' to run once, it ran ${found.size()} times: ${shellCommands()}")
    }
    return found[0]
  }
}
