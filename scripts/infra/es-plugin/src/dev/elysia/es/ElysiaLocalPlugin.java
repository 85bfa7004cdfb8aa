package dev.elysia.es;

import java.io.IOException;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.CharArraySet;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.br.BrazilianAnalyzer;
import org.apache.lucene.analysis.br.BrazilianStemFilter;
import org.apache.lucene.analysis.en.EnglishAnalyzer;
import org.apache.lucene.analysis.en.EnglishMinimalStemFilter;
import org.apache.lucene.analysis.en.EnglishPossessiveFilter;
import org.apache.lucene.analysis.en.KStemFilter;
import org.apache.lucene.analysis.en.PorterStemFilter;
import org.apache.lucene.analysis.miscellaneous.ASCIIFoldingFilter;
import org.apache.lucene.analysis.pt.PortugueseAnalyzer;
import org.apache.lucene.analysis.pt.PortugueseLightStemFilter;
import org.apache.lucene.analysis.pt.PortugueseMinimalStemFilter;
import org.apache.lucene.analysis.pt.PortugueseStemFilter;
import org.apache.lucene.analysis.snowball.SnowballFilter;
import org.apache.lucene.util.SetOnce;
import org.elasticsearch.Build;
import org.elasticsearch.client.internal.node.NodeClient;
import org.elasticsearch.cluster.ClusterName;
import org.elasticsearch.cluster.metadata.IndexNameExpressionResolver;
import org.elasticsearch.cluster.node.DiscoveryNodes;
import org.elasticsearch.cluster.service.ClusterService;
import org.elasticsearch.common.io.stream.NamedWriteableRegistry;
import org.elasticsearch.common.settings.ClusterSettings;
import org.elasticsearch.common.settings.IndexScopedSettings;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.common.settings.SettingsFilter;
import org.elasticsearch.env.Environment;
import org.elasticsearch.features.NodeFeature;
import org.elasticsearch.index.analysis.AbstractIndexAnalyzerProvider;
import org.elasticsearch.index.analysis.AbstractTokenFilterFactory;
import org.elasticsearch.index.analysis.Analysis;
import org.elasticsearch.index.analysis.AnalyzerProvider;
import org.elasticsearch.index.analysis.PreConfiguredTokenFilter;
import org.elasticsearch.index.analysis.TokenFilterFactory;
import org.elasticsearch.indices.analysis.AnalysisModule.AnalysisProvider;
import org.elasticsearch.plugins.ActionPlugin;
import org.elasticsearch.plugins.AnalysisPlugin;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.rest.BaseRestHandler;
import org.elasticsearch.rest.RestController;
import org.elasticsearch.rest.RestHandler;
import org.elasticsearch.rest.RestRequest;
import org.elasticsearch.rest.RestResponse;
import org.elasticsearch.rest.RestStatus;
import org.elasticsearch.xcontent.XContentBuilder;

/**
 * Local-only stand-in for two modules the integ-test zip of Elasticsearch leaves out.
 *
 * <p>Why: the only Elasticsearch 8 distribution on Maven Central is the integ-test zip, which
 * lacks the {@code analysis-common} module (no Portuguese/English analyzers, no asciifolding, no
 * stemmers) and the {@code rest-root} module (no {@code GET /}, so client {@code info()} and
 * {@code ping()} fail). Every analyzer and filter below is a thin wrapper around the very Lucene
 * class that {@code analysis-common} uses, registered under the same name and with the same main
 * parameters, so index settings written for a full production distribution work here unchanged.
 * Never install this plugin on a full distribution: the names would clash with the real module.
 */
public final class ElysiaLocalPlugin extends Plugin implements AnalysisPlugin, ActionPlugin {

  private final SetOnce<ClusterService> clusterService = new SetOnce<>();

  @Override
  public Collection<?> createComponents(PluginServices services) {
    clusterService.set(services.clusterService());
    return List.of();
  }

  // ---------------------------------------------------------------- analysis

  @Override
  public Map<String, AnalysisProvider<AnalyzerProvider<? extends Analyzer>>> getAnalyzers() {
    Map<String, AnalysisProvider<AnalyzerProvider<? extends Analyzer>>> m = new TreeMap<>();
    m.put("brazilian", (is, env, name, s) -> analyzer(name, s, new BrazilianAnalyzer(
        Analysis.parseStopWords(env, s, BrazilianAnalyzer.getDefaultStopSet()),
        Analysis.parseStemExclusion(s, CharArraySet.EMPTY_SET))));
    m.put("portuguese", (is, env, name, s) -> analyzer(name, s, new PortugueseAnalyzer(
        Analysis.parseStopWords(env, s, PortugueseAnalyzer.getDefaultStopSet()),
        Analysis.parseStemExclusion(s, CharArraySet.EMPTY_SET))));
    m.put("english", (is, env, name, s) -> analyzer(name, s, new EnglishAnalyzer(
        Analysis.parseStopWords(env, s, EnglishAnalyzer.getDefaultStopSet()),
        Analysis.parseStemExclusion(s, CharArraySet.EMPTY_SET))));
    return m;
  }

  private static <A extends Analyzer> AnalyzerProvider<A> analyzer(String name, Settings s, A a) {
    return new AbstractIndexAnalyzerProvider<A>(name, s) {
      @Override
      public A get() {
        return a;
      }
    };
  }

  @Override
  public Map<String, AnalysisProvider<TokenFilterFactory>> getTokenFilters() {
    Map<String, AnalysisProvider<TokenFilterFactory>> m = new TreeMap<>();
    m.put("asciifolding", (is, env, name, s) -> {
      boolean preserve = s.getAsBoolean("preserve_original", false);
      return filter(name, s, ts -> new ASCIIFoldingFilter(ts, preserve));
    });
    m.put("brazilian_stem", (is, env, name, s) -> filter(name, s, BrazilianStemFilter::new));
    m.put("stemmer", (is, env, name, s) -> {
      String lang = s.get("language", s.get("name", "porter"));
      return filter(name, s, stemmer(lang));
    });
    m.put("snowball", (is, env, name, s) -> {
      String lang = s.get("language", "English");
      return filter(name, s, ts -> new SnowballFilter(ts, lang));
    });
    return m;
  }

  @Override
  public List<PreConfiguredTokenFilter> getPreConfiguredTokenFilters() {
    return List.of(
        PreConfiguredTokenFilter.singleton("asciifolding", true, ASCIIFoldingFilter::new),
        PreConfiguredTokenFilter.singleton("brazilian_stem", false, BrazilianStemFilter::new),
        PreConfiguredTokenFilter.singleton("snowball", false, ts -> new SnowballFilter(ts, "English")));
  }

  /** The languages of analysis-common's {@code stemmer} filter that matter to this project. */
  private static Function<TokenStream, TokenStream> stemmer(String language) {
    switch (language.toLowerCase(Locale.ROOT)) {
      case "brazilian":
        return BrazilianStemFilter::new;
      case "portuguese":
        return ts -> new SnowballFilter(ts, "Portuguese");
      case "light_portuguese":
        return PortugueseLightStemFilter::new;
      case "minimal_portuguese":
        return PortugueseMinimalStemFilter::new;
      case "portuguese_rslp":
        return PortugueseStemFilter::new;
      case "english":
      case "porter":
        return PorterStemFilter::new;
      case "light_english":
      case "kstem":
        return KStemFilter::new;
      case "minimal_english":
        return EnglishMinimalStemFilter::new;
      case "possessive_english":
        return EnglishPossessiveFilter::new;
      case "porter2":
        return ts -> new SnowballFilter(ts, "English");
      default:
        throw new IllegalArgumentException(
            "stemmer language [" + language + "] is not provided by the elysia-local plugin");
    }
  }

  private static TokenFilterFactory filter(
      String name, Settings s, Function<TokenStream, TokenStream> f) {
    return new AbstractTokenFilterFactory(name, s) {
      @Override
      public TokenStream create(TokenStream ts) {
        return f.apply(ts);
      }
    };
  }

  // ---------------------------------------------------------------- GET / and HEAD /

  @Override
  public Collection<RestHandler> getRestHandlers(
      Settings settings,
      NamedWriteableRegistry namedWriteableRegistry,
      RestController restController,
      ClusterSettings clusterSettings,
      IndexScopedSettings indexScopedSettings,
      SettingsFilter settingsFilter,
      IndexNameExpressionResolver indexNameExpressionResolver,
      Supplier<DiscoveryNodes> nodesInCluster,
      Predicate<NodeFeature> clusterSupportsFeature) {
    return List.of(new RootHandler(settings, nodesInCluster));
  }

  /** The body of {@code rest-root}'s main action: node, cluster and build information. */
  private final class RootHandler extends BaseRestHandler {
    private final Settings settings;
    private final Supplier<DiscoveryNodes> nodes;

    RootHandler(Settings settings, Supplier<DiscoveryNodes> nodes) {
      this.settings = settings;
      this.nodes = nodes;
    }

    @Override
    public String getName() {
      return "elysia_local_main_action";
    }

    @Override
    public List<Route> routes() {
      return List.of(new Route(RestRequest.Method.GET, "/"), new Route(RestRequest.Method.HEAD, "/"));
    }

    @Override
    protected RestChannelConsumer prepareRequest(RestRequest request, NodeClient client) {
      return channel -> {
        Build build = Build.current();
        String uuid = clusterService.get() == null
            ? "_na_"
            : clusterService.get().state().metadata().clusterUUID();
        XContentBuilder b = channel.newBuilder();
        b.startObject();
        b.field("name", nodes.get().getLocalNode().getName());
        b.field("cluster_name", ClusterName.CLUSTER_NAME_SETTING.get(settings).value());
        b.field("cluster_uuid", uuid);
        b.startObject("version");
        b.field("number", build.qualifiedVersion());
        b.field("build_flavor", build.flavor());
        b.field("build_type", build.type().displayName());
        b.field("build_hash", build.hash());
        b.field("build_date", build.date());
        b.field("build_snapshot", build.isSnapshot());
        b.field("lucene_version", org.apache.lucene.util.Version.LATEST.toString());
        b.field("minimum_wire_compatibility_version", build.minWireCompatVersion());
        b.field("minimum_index_compatibility_version", build.minIndexCompatVersion());
        b.endObject();
        b.field("tagline", "You Know, for Search");
        b.endObject();
        channel.sendResponse(new RestResponse(RestStatus.OK, b));
      };
    }
  }
}
