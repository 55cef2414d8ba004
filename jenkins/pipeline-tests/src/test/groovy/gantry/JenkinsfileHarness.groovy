package gantry

import com.lesfurets.jenkins.unit.BasePipelineTest

/**
 * Loads the repository's Jenkinsfile under JenkinsPipelineUnit with every step it uses mocked, and records
 * an ordered event log ("sh:gantry build", "input", "milestone:100", "lock:<name>", "unlock:<name>", ...).
 *
 * Tests steer the mocks: `approval` is how the Approval input ends ('approve', 'reject', 'timeout'),
 * `approvingUser` who clicks, `failOn` a gantry subcommand that exits non-zero.
 */
abstract class JenkinsfileHarness extends BasePipelineTest {
  static final String DIGEST = 'sha256:' + 'ab' * 32
  static final String SMOKE = 'staging smoke: 3/3 checks passed'
  // Jenkins group membership as the controller's role strategy would resolve it.
  static final Map<String, List<String>> GROUPS = [alice: ['approvers'], bob: ['approvers', 'developers'],
                                                   mallory: ['developers']]

  List<String> events = []
  List<Map> inputs = []
  List<Map> timeouts = []
  Map<String, Object> env = new EnvMap()
  Map<String, Object> params = [:]
  Map<String, Object> currentBuild = [:]
  DeclarativeRunner runner
  String approval = 'approve'
  String approvingUser = 'alice'
  String failOn = null
  protected int openTimeouts = 0

  @Override
  void setUp() throws Exception {
    File jenkinsfile = new File(System.getProperty('jenkinsfile', '../../Jenkinsfile')).canonicalFile
    baseScriptRoot = ''
    scriptRoots = [jenkinsfile.parentFile.path] as String[]
    scriptExtension = ''
    super.setUp()
    params.putAll(CUSTOMER: 'example', SERVICE: 'cart', GANTRY_CONFIG: 'environments/example/local.yaml',
                  SHA: '', APPROVAL_TIMEOUT_MINUTES: '60', IMAGE_SCANNER: '')
    env.putAll(BUILD_TAG: 'jenkins-example-cart-pipeline-42', BUILD_URL: 'https://jenkins.invalid/job/x/42/')
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
    helper.registerAllowedMethod('sh', [Map], { Map args -> shell(args.script as String, args.returnStdout as boolean) })
    helper.registerAllowedMethod('echo', [String], { String message -> events << "echo:${message}".toString() })
    helper.registerAllowedMethod('checkout', [Object], { Object scm -> events << 'checkout' })
    helper.registerAllowedMethod('archiveArtifacts', [Map], { Map args ->
      events << "archive:${args.artifacts}".toString()
    })
    helper.registerAllowedMethod('error', [String], { String message -> throw new IllegalStateException(message) })
    helper.registerAllowedMethod('script', [Closure], { Closure body -> body.call() })
    helper.registerAllowedMethod('milestone', [Map], { Map args -> events << "milestone:${args.ordinal}".toString() })
    helper.registerAllowedMethod('lock', [Map, Closure], { Map args, Closure body ->
      events << "lock:${args.resource}".toString()
      try {
        body.call()
      } finally {
        events << "unlock:${args.resource}".toString()
      }
    })
    helper.registerAllowedMethod('timeout', [Map, Closure], { Map args, Closure body ->
      timeouts << args
      openTimeouts++
      try {
        body.call()
      } finally {
        openTimeouts--
      }
    })
    helper.registerAllowedMethod('input', [Map], { Map args -> awaitInput(args) })
  }

  protected Script loadedScript

  void runJenkinsfile() {
    loadedScript = loadScript('Jenkinsfile')
    runScript(loadedScript)
  }

  protected Object shell(String command, boolean returnStdout) {
    events << "sh:${command}".toString()
    if (failOn != null && command.startsWith("gantry ${failOn}")) {
      throw new RuntimeException("script returned exit code 1: ${command}")
    }
    if (!returnStdout) {
      return null
    }
    Map<String, String> outputs = [
      'gantry run show --field digest': DIGEST,
      'gantry smoke --env staging': SMOKE,
    ]
    if (!outputs.containsKey(command)) {
      throw new IllegalStateException("no stub output for '${command}'")
    }
    return outputs[command] + '\n'
  }

  /** Behaves like the input step: only a listed user or group member can answer; waiting ends at the timeout. */
  protected Object awaitInput(Map args) {
    inputs << (args + [insideTimeout: openTimeouts > 0])
    events << 'input'
    if (approval == 'reject') {
      throw new AbortedException("Rejected by ${approvingUser}")
    }
    List<String> allowed = (args.submitter as String).split(',')*.trim()
    boolean permitted = approvingUser in allowed || GROUPS.get(approvingUser, []).any { it in allowed }
    if (approval == 'timeout' || !permitted) {
      if (openTimeouts == 0) {
        throw new IllegalStateException('input waited forever: it is not inside a timeout')
      }
      throw new AbortedException('Timeout has been exceeded')
    }
    return approvingUser
  }

  List<String> shellCommands() {
    return events.findAll { it.startsWith('sh:') }.collect { it.substring(3) }
  }

  int indexOfEvent(Closure<Boolean> predicate) {
    return events.findIndexOf(predicate)
  }
}
