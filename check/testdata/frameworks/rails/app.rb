# A sign-in with Rails 6.1 in one file, built by hand the way the Rails
# guides build one: a SessionsController with new, create and destroy,
# reset_session at sign-in, protect_from_forgery (an authenticity_token in
# every form and csrf_meta_tags in every page), sign-out as DELETE /logout
# from a button_to form (a POST with a hidden _method=delete), and the
# session in Rails' default store: the encrypted cookie.
#
# That store keeps nothing on the server: the cookie is the session. So
# reset_session at sign-out hands the browser a new, empty cookie, but the
# old one, copied before, still decrypts to the signed-in user.
#
# The account comes from the environment: APP_USER and APP_PASSWORD. The
# app listens on 127.0.0.1 at a free port (WEBrick) and prints
# "listening on http://127.0.0.1:PORT" once it does. Run it with Debian's
# ruby-rails and ruby-webrick, RAILS_ENV=production.

require "rails"
require "action_controller/railtie"
require "webrick"

class Shop < Rails::Application
  config.load_defaults 6.1
  config.root = __dir__
  config.eager_load = false
  # Cookies are encrypted with keys derived from this; sessions need not
  # outlive the process.
  config.secret_key_base = SecureRandom.hex(64)
  config.logger = ActiveSupport::Logger.new($stderr)
  config.log_level = :warn
  config.filter_parameters += [:password]
end

Shop.initialize!
# Routes drawn in the class body would be cleared by initialize!'s routes
# reload; this app has no config/routes.rb, so it draws them here.
Shop.routes.draw do
  get "/login", to: "sessions#new", as: :login
  post "/login", to: "sessions#create"
  delete "/logout", to: "sessions#destroy", as: :logout
  get "/account", to: "accounts#show", as: :account
  root to: redirect("/account")
end

USER_EMAIL = ENV["APP_USER"] || abort("set APP_USER and APP_PASSWORD")
PASSWORD = ENV.delete("APP_PASSWORD") || abort("set APP_USER and APP_PASSWORD")
USER_ID = 1

HEAD = <<~ERB
  <!doctype html>
  <html lang="en"><head><meta charset="utf-8"><title><%= title %></title>
  <%= csrf_meta_tags %>
  </head><body>
ERB

class ApplicationController < ActionController::Base
  protect_from_forgery with: :exception

  helper_method :current_user

  private

  def current_user
    @current_user ||= USER_EMAIL if session[:user_id] == USER_ID
  end

  def require_login
    redirect_to login_path unless current_user
  end
end

class SessionsController < ApplicationController
  NEW = HEAD + <<~ERB
    <% if alert %><p role="alert"><%= alert %></p><% end %>
    <%= form_with url: login_path do |f| %>
      <%= f.label :email %> <%= f.email_field :email, autocomplete: "username", required: true %>
      <%= f.label :password %> <%= f.password_field :password, autocomplete: "current-password", required: true %>
      <%= f.submit "Sign in" %>
    <% end %>
    </body></html>
  ERB

  def new
    render inline: NEW, locals: { title: "Sign in", alert: nil }
  end

  def create
    if authentic?(params[:email].to_s, params[:password].to_s)
      reset_session # a new session for the signed-in user: no fixation
      session[:user_id] = USER_ID
      redirect_to account_path
    else
      render inline: NEW, locals: { title: "Sign in", alert: "Wrong email or password." }, status: :unprocessable_entity
    end
  end

  def destroy
    reset_session
    redirect_to login_path
  end

  private

  # has_secure_password would need bcrypt (and a model), which Debian's
  # Rails packages do not bring; a constant-time comparison against the
  # account's password from the environment stands in for it.
  def authentic?(email, password)
    ActiveSupport::SecurityUtils.secure_compare(email, USER_EMAIL) &
      ActiveSupport::SecurityUtils.secure_compare(password, PASSWORD)
  end
end

class AccountsController < ApplicationController
  before_action :require_login

  SHOW = HEAD + <<~ERB
    <p>Signed in as <%= current_user %>.</p>
    <%= button_to "Sign out", logout_path, method: :delete %>
    </body></html>
  ERB

  def show
    render inline: SHOW, locals: { title: "Your account" }
  end
end

server = WEBrick::HTTPServer.new(BindAddress: "127.0.0.1", Port: 0, AccessLog: [],
                                 Logger: WEBrick::Log.new($stderr, WEBrick::BasicLog::WARN))
server.mount "/", Rack::Handler::WEBrick, Shop
trap("TERM") { server.shutdown }
$stdout.puts "listening on http://127.0.0.1:#{server.listeners.first.addr[1]}"
$stdout.flush
server.start
