#include "server/router.hpp"

#include <catch2/catch.hpp>

using namespace fleetcomm::server;

namespace {

Handler Answer(unsigned status) {
  return [status](RequestContext&) -> boost::asio::awaitable<HttpResponse> { co_return JsonResponse(status, "{}"); };
}

}  // namespace

TEST_CASE("routes match literal segments and capture placeholders", "[router]") {
  Router router;
  router.Add(http::verb::get, "/api/v1/devices", Access::kOperatorToken, Answer(200));
  router.Add(http::verb::get, "/api/v1/devices/{id}", Access::kOperatorToken, Answer(201));
  router.Add(http::verb::post, "/api/v1/devices/{id}/assign", Access::kOperatorToken, Answer(202));

  auto list = router.Match(http::verb::get, "/api/v1/devices?state=pending");
  REQUIRE(list.outcome == RouteMatch::Outcome::kFound);
  CHECK(list.route->pattern == "/api/v1/devices");

  auto one = router.Match(http::verb::get, "/api/v1/devices/dv_42");
  REQUIRE(one.outcome == RouteMatch::Outcome::kFound);
  CHECK(one.route->pattern == "/api/v1/devices/{id}");
  CHECK(one.params.at("id") == "dv_42");

  auto assign = router.Match(http::verb::post, "/api/v1/devices/dv_7/assign");
  REQUIRE(assign.outcome == RouteMatch::Outcome::kFound);
  CHECK(assign.params.at("id") == "dv_7");
}

TEST_CASE("unknown paths, wrong methods and empty ids are told apart", "[router]") {
  Router router;
  router.Add(http::verb::get, "/api/v1/devices/{id}", Access::kOperatorToken, Answer(200));
  router.Add(http::verb::delete_, "/api/v1/devices/{id}", Access::kOperatorToken, Answer(204));

  CHECK(router.Match(http::verb::get, "/api/v1/devices/").outcome == RouteMatch::Outcome::kNotFound);
  CHECK(router.Match(http::verb::get, "/api/v1/devices/a/b").outcome == RouteMatch::Outcome::kNotFound);
  CHECK(router.Match(http::verb::get, "api/v1/devices/a").outcome == RouteMatch::Outcome::kNotFound);
  CHECK(router.Match(http::verb::get, "").outcome == RouteMatch::Outcome::kNotFound);

  auto wrong = router.Match(http::verb::post, "/api/v1/devices/dv_1");
  CHECK(wrong.outcome == RouteMatch::Outcome::kMethodNotAllowed);
  CHECK(wrong.allowed_methods == "GET, DELETE");
  CHECK(PathOf("/a/b?c=d/e") == "/a/b");
}
